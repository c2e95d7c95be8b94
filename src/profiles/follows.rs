//! The follow graph's use cases.

use crate::db::Db;
use crate::db::follows::{self as queries, CounterDrift};
use crate::error::AppResult;

/// Verifies every follower/following counter against the follow table and repairs drift;
/// returns what was repaired.
pub async fn recount(db: &Db) -> AppResult<Vec<CounterDrift>> {
    let mut conn = db.conn().await?;
    queries::recount(&mut conn).await
}
