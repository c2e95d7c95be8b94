//! The database layer: the pool, the embedded cluster, migrations, the generated schema, and
//! every query the service runs. Nothing outside this module writes SQL.

pub mod bulk;
pub mod cache;
pub mod changes;
pub mod consistency;
pub mod embedded;
pub mod follows;
pub mod migrations;
pub mod pool;
pub mod profiles;
pub mod replicas;
/// The tables, as `diesel print-schema` generates them from the migrations.
#[allow(missing_docs)]
#[rustfmt::skip]
pub mod schema;

pub use pool::{Conn, Db};
