#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed expectation is how a test fails

//! Integration tests against a real PostgreSQL: one binary, modules mirroring the routes and
//! operations. See `harness` for how each test gets its own database.

#[allow(dead_code)] // helpers for every module; not each uses all of them
mod harness;

mod api_docs;
mod cache;
mod commands;
mod follow_counts;
mod follow_graph;
mod follow_lists;
mod graphql_documents;
mod graphql_http;
mod graphql_update;
mod graphql_users;
mod identity;
mod import;
mod migrations;
mod ops;
mod privacy;
mod rate_limit;
mod request_context;
mod rest_profile_read;
mod rest_profile_update;
mod schema_sdl;
mod statuses;
mod subscriptions;
