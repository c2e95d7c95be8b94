//! The ceiling of the REST read on this machine: axum answering
//! `GET /api/v1/users/profile/{id}` with fixed bytes from memory — no context, no database, no
//! cache, no serialization — so that `bench/reads.sh` can say how close profile-api comes to what
//! the same HTTP stack and load generator allow at all.
//!
//!   cargo run --release --example ceiling -- ADDRESS BODY_FILE

use axum::Router;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::header;
use axum::routing::get;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(address), Some(body_file)) = (args.next(), args.next()) else {
        anyhow::bail!("usage: ceiling ADDRESS BODY_FILE");
    };
    let body = Bytes::from(std::fs::read(&body_file)?);
    let app = Router::new().route(
        "/api/v1/users/profile/{id}",
        get(move |Path(_id): Path<String>| {
            let body = body.clone();
            async move { ([(header::CONTENT_TYPE, "application/json")], body) }
        }),
    );
    let listener = tokio::net::TcpListener::bind(&address).await?;
    axum::serve(listener, app).await?;
    Ok(())
}
