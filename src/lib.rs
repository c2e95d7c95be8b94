//! profile-api: a GraphQL server for the user profiles of a social / live-streaming app, with
//! REST routes that keep the legacy clients working byte for byte.
//!
//! The domain ([`profiles`]: model, privacy, rules, use cases) knows nothing of HTTP or GraphQL;
//! [`rest`] and [`graphql`] are thin adapters over it; [`db`] is the one place that talks to
//! PostgreSQL. [`app::router`] assembles what `serve` serves and what the tests drive.

pub mod app;
pub mod assets;
pub mod cli;
pub mod config;
pub mod context;
pub mod db;
pub mod demo;
pub mod error;
pub mod graphql;
pub mod i18n;
pub mod identity;
pub mod import;
pub mod metrics;
pub mod ops;
pub mod profiles;
pub mod rate_limit;
pub mod rest;
pub mod shared_state;
pub mod state;
pub mod timeout;

pub use app::{router, router_with_api};
