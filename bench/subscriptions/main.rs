//! The load client of `bench/subscriptions.sh`: many `graphql-transport-ws` subscribers on one
//! server, each watching a few profiles, while profiles change in the database at a steady rate.
//!
//! Every change stamps the changed user's `bio` with the database's clock as the statement runs
//! (microseconds since the epoch; the database runs on this machine, so it shares the clock), and
//! each subscriber computes the delivery latency — commit to socket, plus the few microseconds
//! between the statement and its commit — as its receive time minus the stamp.
//!
//!   cargo run --release --example subscriptions_load -- --ws URL --database-url URL \
//!       --secret SECRET [--clients 10000] [--ids 10] [--users 10000] [--rate 100] \
//!       [--duration 30] [--signed-in 50]
//!
//! Prints one line of `name=value` figures for the script to read.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, bail};
use diesel::sql_types::Text;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl as _};
use futures_util::{SinkExt as _, StreamExt as _};
use profile_api::identity::TokenKeys;
use profile_api::profiles::ObjectId;
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// An id that is no user's: its error tells a subscriber that its subscription is in place.
const MISSING: &str = "00000000000000000000dead";

/// Connections opened at once while the subscribers start.
const CONNECTING_AT_ONCE: usize = 100;

struct Options {
    ws: String,
    database_url: String,
    secret: String,
    clients: usize,
    ids: usize,
    users: usize,
    rate: u64,
    duration: Duration,
    signed_in_percent: usize,
}

impl Options {
    fn parse() -> anyhow::Result<Self> {
        let mut args: HashMap<String, String> = HashMap::new();
        let mut raw = std::env::args().skip(1);
        while let Some(name) = raw.next() {
            let Some(name) = name.strip_prefix("--") else {
                bail!("unexpected argument {name}");
            };
            let value = raw
                .next()
                .with_context(|| format!("--{name} needs a value"))?;
            args.insert(name.to_owned(), value);
        }
        let text = |name: &str| args.get(name).cloned().with_context(|| format!("--{name}"));
        let number = |name: &str, default: u64| -> anyhow::Result<u64> {
            args.get(name).map_or(Ok(default), |v| {
                v.parse().with_context(|| format!("--{name}"))
            })
        };
        Ok(Self {
            ws: text("ws")?,
            database_url: text("database-url")?,
            secret: text("secret")?,
            clients: usize::try_from(number("clients", 10_000)?)?,
            ids: usize::try_from(number("ids", 10)?)?,
            users: usize::try_from(number("users", 10_000)?)?,
            rate: number("rate", 100)?,
            duration: Duration::from_secs(number("duration", 30)?),
            signed_in_percent: usize::try_from(number("signed-in", 50)?)?,
        })
    }
}

/// The benchmark's users: ids 1..=users, as the script creates them.
fn user_id(n: usize) -> String {
    format!("{n:024x}")
}

/// A small deterministic generator, so that runs are comparable.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        usize::try_from((self.0 >> 33) % below as u64).unwrap_or(0)
    }
}

fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// What one subscriber saw.
#[derive(Default)]
struct Seen {
    latencies_us: Vec<u64>,
    by_user: HashMap<String, usize>,
    failure: Option<String>,
    counted_ready: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = Options::parse()?;
    let keys = TokenKeys::new(&SecretString::from(options.secret.clone()), None)?;
    let mut rng = Lcg(0x5eed);
    let mut plans = Vec::with_capacity(options.clients);
    let mut watchers: HashMap<String, usize> = HashMap::new();
    for client in 0..options.clients {
        let mut ids: Vec<String> = Vec::with_capacity(options.ids + 1);
        while ids.len() < options.ids.min(options.users) {
            let id = user_id(1 + rng.next(options.users));
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        for id in &ids {
            *watchers.entry(id.clone()).or_default() += 1;
        }
        ids.push(MISSING.to_owned());
        let token = if client % 100 < options.signed_in_percent {
            let me = ObjectId::parse(&user_id(1 + client % options.users)).context("id")?;
            Some(keys.mint(&me, false, Duration::from_secs(3600))?)
        } else {
            None
        };
        plans.push((ids, token));
    }

    // Subscribers connect, a hundred at a time, and say when their subscription is in place.
    let ready = Arc::new(AtomicUsize::new(0));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let connecting = Arc::new(tokio::sync::Semaphore::new(CONNECTING_AT_ONCE));
    let started = Instant::now();
    let mut subscribers = Vec::with_capacity(options.clients);
    for (ids, token) in plans {
        let permit = connecting.clone().acquire_owned().await?;
        let (ws, ready, stop) = (options.ws.clone(), ready.clone(), stop_rx.clone());
        subscribers.push(tokio::spawn(async move {
            subscriber(ws, ids, token, ready, stop, permit).await
        }));
    }
    while AtomicUsize::load(&ready, Ordering::SeqCst) < options.clients {
        if started.elapsed() > Duration::from_secs(300) {
            bail!(
                "only {} of {} subscribers ready after 300 s",
                AtomicUsize::load(&ready, Ordering::SeqCst),
                options.clients
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let connect_seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "{} subscribers ready in {connect_seconds:.1} s; changing {} profiles/s for {:?}",
        options.clients, options.rate, options.duration
    );
    println!("ready");

    // Changes at a steady rate, each stamped with the database's clock.
    let mut conn = AsyncPgConnection::establish(&options.database_url).await?;
    let mut ticker = tokio::time::interval(Duration::from_micros(1_000_000 / options.rate.max(1)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut expected = 0usize;
    let mut changes = 0usize;
    let mut changed: HashMap<String, usize> = HashMap::new();
    let writing = Instant::now();
    while writing.elapsed() < options.duration {
        ticker.tick().await;
        let id = user_id(1 + rng.next(options.users));
        diesel::sql_query(
            "UPDATE users SET bio = (extract(epoch FROM clock_timestamp()) * 1000000)::bigint::text \
             WHERE id = $1",
        )
        .bind::<Text, _>(&id)
        .execute(&mut conn)
        .await?;
        changes += 1;
        expected += watchers.get(&id).copied().unwrap_or(0);
        *changed.entry(id).or_default() += 1;
    }
    let write_seconds = writing.elapsed().as_secs_f64();
    // Time for the last deliveries.
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop_tx.send(true)?;

    let mut latencies = Vec::new();
    let mut failures = Vec::new();
    let mut latest_of_each = 0usize;
    for subscriber in subscribers {
        let seen = subscriber.await?;
        latencies.extend(seen.latencies_us);
        if let Some(failure) = seen.failure {
            failures.push(failure);
        }
        // Each changed id a subscriber watches must have reached it at least once (its latest
        // state; intermediate ones may be coalesced).
        latest_of_each += seen.by_user.len();
    }
    let owed_latest: usize = changed
        .keys()
        .map(|id| watchers.get(id).copied().unwrap_or(0))
        .sum();
    latencies.sort_unstable();
    let percentile = |p: f64| -> f64 {
        if latencies.is_empty() {
            return f64::NAN;
        }
        let index = ((latencies.len() - 1) as f64 * p).round() as usize;
        latencies[index] as f64 / 1000.0
    };
    println!(
        "clients={} ids={} users={} signed_in_percent={} connect_s={connect_seconds:.1} \
         changes={changes} rate={:.1} expected={expected} delivered={} latest_owed={owed_latest} \
         latest_delivered={latest_of_each} p50_ms={:.2} p90_ms={:.2} p99_ms={:.2} max_ms={:.2} \
         failures={}",
        options.clients,
        options.ids,
        options.users,
        options.signed_in_percent,
        changes as f64 / write_seconds,
        latencies.len(),
        percentile(0.50),
        percentile(0.90),
        percentile(0.99),
        percentile(1.0),
        failures.len()
    );
    for failure in failures.iter().take(5) {
        eprintln!("failure: {failure}");
    }
    Ok(())
}

/// One subscriber: connects, subscribes, and records the latency of every update until told
/// to stop.
async fn subscriber(
    ws: String,
    ids: Vec<String>,
    token: Option<String>,
    ready: Arc<AtomicUsize>,
    mut stop: tokio::sync::watch::Receiver<bool>,
    permit: tokio::sync::OwnedSemaphorePermit,
) -> Seen {
    let mut seen = Seen::default();
    let result = async {
        let mut request = ws.as_str().into_client_request()?;
        request
            .headers_mut()
            .insert("sec-websocket-protocol", "graphql-transport-ws".parse()?);
        let config = WebSocketConfig::default()
            .read_buffer_size(4096)
            .write_buffer_size(0);
        let (mut socket, _) =
            tokio_tungstenite::connect_async_with_config(request, Some(config), true).await?;
        let payload = token.map_or_else(
            || json!({}),
            |t| json!({ "Authorization": format!("Bearer {t}") }),
        );
        socket
            .send(Message::text(
                json!({ "type": "connection_init", "payload": payload }).to_string(),
            ))
            .await?;
        socket
            .send(Message::text(
                json!({ "id": "1", "type": "subscribe", "payload": {
                    "query": "subscription($ids: [ID!]!) { profileChanged(ids: $ids) { id bio } }",
                    "variables": { "ids": ids } } })
                .to_string(),
            ))
            .await?;
        let mut permit = Some(permit);
        loop {
            let message = tokio::select! {
                message = socket.next() => message,
                _ = stop.changed() => return anyhow::Ok(()),
            };
            let received = now_micros();
            let text = match message {
                Some(Ok(Message::Text(text))) => text,
                Some(Ok(Message::Close(frame))) => bail!("closed: {frame:?}"),
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(e.into()),
                None => bail!("the connection ended"),
            };
            let message: Value = serde_json::from_str(&text)?;
            match message["type"].as_str() {
                Some("ping") => {
                    socket
                        .send(Message::text(json!({ "type": "pong" }).to_string()))
                        .await?;
                }
                Some("next") => {
                    let payload = &message["payload"];
                    if payload["errors"][0]["extensions"]["userId"] == MISSING {
                        permit.take();
                        seen.counted_ready = true;
                        ready.fetch_add(1, Ordering::SeqCst);
                        continue;
                    }
                    let profile = &payload["data"]["profileChanged"];
                    let stamp = profile["bio"].as_str().and_then(|b| b.parse::<u64>().ok());
                    let Some(stamp) = stamp else {
                        bail!("unexpected update: {message}");
                    };
                    seen.latencies_us.push(received.saturating_sub(stamp));
                    let id = profile["id"].as_str().unwrap_or_default().to_owned();
                    *seen.by_user.entry(id).or_default() += 1;
                }
                Some("connection_ack") => {}
                _ => bail!("unexpected message: {message}"),
            }
        }
    }
    .await;
    if let Err(e) = result {
        seen.failure = Some(e.to_string());
        // A subscriber that failed before it was ready must not hold the start forever.
        if !seen.counted_ready {
            ready.fetch_add(1, Ordering::SeqCst);
        }
    }
    seen
}
