//! The change stream: what the database announces on the `profile_changes` channel after every
//! committed change that can alter a profile read (the triggers of migration
//! `2026-12-01-000001_change_stream`), and the listener that follows it on one connection per
//! instance.
//!
//! NOTIFY is transactional — a notification is delivered only after its transaction commits, and
//! every listener receives them in commit order — so a marker a writer sends inside its own
//! transaction arrives after every change of that transaction: [`ChangeListener`] uses that for
//! read-your-writes and as its heartbeat (a marker of its own, sent on a timer, proves the stream
//! is live up to the moment it was sent).

use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use diesel::sql_types::Text;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use futures_util::StreamExt as _;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::broadcast;

use super::replicas::Lsn;
use crate::profiles::ObjectId;

/// The channel the triggers notify.
pub const CHANNEL: &str = "profile_changes";

/// The payload that tells every instance to forget everything it cached (a change too large to
/// list).
pub const EVERYTHING: &str = "*";

/// How often the listener proves the stream is live: a quarter of the staleness the cache
/// tolerates ([`super::cache::STALE_AFTER`]), so that a late heartbeat or two cost nothing.
pub const HEARTBEAT: Duration = Duration::from_millis(25);

/// How long a heartbeat may take to come back before the connection counts as lost (the cache
/// stops vouching for itself long before, after [`super::cache::STALE_AFTER`]).
const HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(2);

/// Longest wait between two attempts to reconnect.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// One announced change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Users whose row changed (any profile field, privacy, deactivation, photo).
    Users(Vec<ObjectId>),
    /// Users whose availability changed (also announced as [`Change::Users`]).
    Availability(Vec<ObjectId>),
    /// Users whose follower or following counter changed.
    Counts(Vec<ObjectId>),
    /// Follow relations that appeared, changed or went: (follower, followee).
    Follows(Vec<(ObjectId, ObjectId)>),
    /// Blocks that appeared or went: (blocker, blocked).
    Blocks(Vec<(ObjectId, ObjectId)>),
    /// Too much changed to name (a bulk statement, a TRUNCATE): anything may have.
    Everything,
    /// A marker: every change whose commit record precedes `position` (the primary's WAL insert
    /// position when the marker's statement ran) has been delivered before it.
    Marker {
        /// Who sent it, and why (a writer's token, a heartbeat's).
        token: String,
        /// The primary's flush position when it was sent.
        position: Lsn,
    },
}

/// A change with the time the database made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announced {
    /// What changed.
    pub change: Change,
    /// When the changing statement ran (database clock), if the payload says.
    pub at: Option<SystemTime>,
}

impl Announced {
    /// Parses a notification payload; `None` for one this version does not understand.
    pub fn parse(payload: &str) -> Option<Self> {
        if payload == EVERYTHING {
            return Some(Self {
                change: Change::Everything,
                at: None,
            });
        }
        if let Some(marker) = payload.strip_prefix("marker:") {
            let (position, token) = marker.split_once(':')?;
            return Some(Self {
                change: Change::Marker {
                    token: token.to_owned(),
                    position: Lsn::parse(position)?,
                },
                at: None,
            });
        }
        let mut parts = payload.splitn(3, ':');
        let kind = parts.next()?;
        let micros: u64 = parts.next()?.parse().ok()?;
        let keys = parts.next()?;
        let ids = || {
            keys.split(',')
                .map(ObjectId::parse)
                .collect::<Option<Vec<_>>>()
        };
        let pairs = || {
            keys.split(',')
                .map(|pair| {
                    let (a, b) = pair.split_once('>')?;
                    Some((ObjectId::parse(a)?, ObjectId::parse(b)?))
                })
                .collect::<Option<Vec<_>>>()
        };
        let change = match kind {
            "u" => Change::Users(ids()?),
            "a" => Change::Availability(ids()?),
            "c" => Change::Counts(ids()?),
            "f" => Change::Follows(pairs()?),
            "b" => Change::Blocks(pairs()?),
            _ => return None,
        };
        Some(Self {
            change,
            at: Some(UNIX_EPOCH + Duration::from_micros(micros)),
        })
    }
}

/// What the listener tells whoever follows the stream.
#[derive(Debug, Clone)]
pub enum StreamEvent {
    /// (Re)connected: changes made while disconnected were not seen.
    Connected,
    /// The connection is lost: changes are not being seen until [`StreamEvent::Connected`].
    Lost,
    /// A change.
    Change(Announced),
}

/// Where the listener delivers events first, in order, before anyone else hears of them (the
/// profile cache, whose correctness depends on seeing each one before it is broadcast).
pub trait ChangeSink: Send + Sync + 'static {
    /// Handles one event.
    fn handle(&self, event: &StreamEvent);

    /// The marker the listener's heartbeat sends; the sink learns of its arrival through
    /// [`ChangeSink::handle`].
    fn heartbeat_marker(&self) -> String;
}

/// Follows the change stream on a connection of its own, for as long as its sink lives.
pub struct ChangeListener;

impl ChangeListener {
    /// Starts following the stream of the database at `url` on a thread of its own (with a
    /// runtime of its own). Events go to `sink` first, then to `broadcast`. The thread ends when
    /// the sink is dropped.
    ///
    /// Why not a task on the server's runtime: the cache vouches for itself only while its
    /// heartbeat comes back within 100 ms, and under a load that keeps every worker busy, a task
    /// waits its turn behind the requests — the cache then stopped vouching (reads went to the
    /// database) exactly when it was needed most. A thread of its own is scheduled by the
    /// operating system beside the workers, whatever they are doing.
    pub fn spawn<S: ChangeSink>(
        url: SecretString,
        sink: &Arc<S>,
        broadcast: broadcast::Sender<Arc<StreamEvent>>,
    ) {
        let sink = Arc::downgrade(sink);
        let follows = move || {
            match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime.block_on(follow(url, sink, broadcast)),
                // The cache then never vouches for itself: reads go to the database.
                Err(e) => tracing::error!(error = %e, "cannot start the change stream's runtime"),
            }
        };
        let started = std::thread::Builder::new()
            .name("change-stream".to_owned())
            .spawn(follows);
        if let Err(e) = started {
            tracing::error!(error = %e, "cannot start the change stream's thread");
        }
    }
}

/// Sends a marker on the stream (inside the caller's transaction, if it is in one), stamped with
/// the primary's WAL insert position as its statement runs.
pub async fn send_marker(conn: &mut AsyncPgConnection, token: &str) -> diesel::QueryResult<()> {
    diesel::sql_query(
        "SELECT pg_notify($1, 'marker:' || pg_current_wal_insert_lsn()::text || ':' || $2)::text",
    )
    .bind::<Text, _>(CHANNEL)
    .bind::<Text, _>(token)
    .execute(conn)
    .await
    .map(|_| ())
}

fn deliver<S: ChangeSink>(
    sink: &S,
    broadcast: &broadcast::Sender<Arc<StreamEvent>>,
    event: StreamEvent,
) {
    sink.handle(&event);
    // Nobody listening is fine.
    let _ = broadcast.send(Arc::new(event));
}

async fn follow<S: ChangeSink>(
    url: SecretString,
    sink: Weak<S>,
    broadcast: broadcast::Sender<Arc<StreamEvent>>,
) {
    let mut backoff = Duration::from_millis(50);
    loop {
        match connect(&url).await {
            Ok(mut conn) => {
                backoff = Duration::from_millis(50);
                let Some(live) = sink.upgrade() else { return };
                deliver(&*live, &broadcast, StreamEvent::Connected);
                drop(live);
                let reason = listen(&mut conn, &sink, &broadcast).await;
                let Some(live) = sink.upgrade() else { return };
                tracing::warn!(%reason, "change stream lost; the profile cache is bypassed until it is back");
                metrics::counter!("change_stream_disconnects_total").increment(1);
                deliver(&*live, &broadcast, StreamEvent::Lost);
            }
            Err(e) => {
                if sink.strong_count() == 0 {
                    return;
                }
                tracing::warn!(error = %e, "cannot connect to follow the change stream; retrying");
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

async fn connect(url: &SecretString) -> anyhow::Result<AsyncPgConnection> {
    let mut conn = tokio::time::timeout(
        Duration::from_secs(3),
        AsyncPgConnection::establish(url.expose_secret()),
    )
    .await??;
    diesel::sql_query(format!(
        "SET application_name = '{}-changes'",
        super::pool::APPLICATION_NAME
    ))
    .execute(&mut conn)
    .await?;
    diesel::sql_query(format!("LISTEN {CHANNEL}"))
        .execute(&mut conn)
        .await?;
    Ok(conn)
}

/// Delivers notifications until the connection fails or the sink is gone; returns why it
/// stopped. A heartbeat marker goes out every [`HEARTBEAT`]; one that is not back within
/// [`HEARTBEAT_TIMEOUT`] means the stream is stuck or dead.
async fn listen<S: ChangeSink>(
    conn: &mut AsyncPgConnection,
    sink: &Weak<S>,
    broadcast: &broadcast::Sender<Arc<StreamEvent>>,
) -> String {
    let mut pending_heartbeat: Option<(String, tokio::time::Instant)> = None;
    let mut next_heartbeat = tokio::time::Instant::now();
    loop {
        let Some(live) = sink.upgrade() else {
            return "shutting down".to_owned();
        };
        if let Some((_, sent)) = &pending_heartbeat
            && sent.elapsed() > HEARTBEAT_TIMEOUT
        {
            return "a heartbeat did not come back in time".to_owned();
        }
        if pending_heartbeat.is_none() && tokio::time::Instant::now() >= next_heartbeat {
            let marker = live.heartbeat_marker();
            let sent = tokio::time::timeout(HEARTBEAT_TIMEOUT, send_marker(conn, &marker)).await;
            match sent {
                Ok(Ok(())) => {
                    pending_heartbeat = Some((marker, tokio::time::Instant::now()));
                    next_heartbeat = tokio::time::Instant::now() + HEARTBEAT;
                }
                Ok(Err(e)) => return format!("heartbeat failed: {e}"),
                Err(_) => return "heartbeat timed out".to_owned(),
            }
        }
        drop(live);
        let wait = next_heartbeat.saturating_duration_since(tokio::time::Instant::now());
        let received = {
            let mut stream = std::pin::pin!(conn.notifications_stream());
            tokio::time::timeout(wait.max(Duration::from_millis(1)), stream.next()).await
        };
        let notification = match received {
            Err(_) => continue,
            Ok(None) => return "the connection closed".to_owned(),
            Ok(Some(Err(e))) => return format!("the connection failed: {e}"),
            Ok(Some(Ok(notification))) => notification,
        };
        let Some(announced) = Announced::parse(&notification.payload) else {
            tracing::debug!(payload = %notification.payload, "ignoring an unknown change");
            continue;
        };
        if let (Change::Marker { token, .. }, Some((sent, _))) =
            (&announced.change, &pending_heartbeat)
            && token == sent
        {
            pending_heartbeat = None;
        }
        let Some(live) = sink.upgrade() else {
            return "shutting down".to_owned();
        };
        deliver(&*live, broadcast, StreamEvent::Change(announced));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> ObjectId {
        ObjectId::parse(&format!("{n:024x}")).expect("id")
    }

    #[test]
    fn payloads() {
        let parsed =
            Announced::parse(&format!("u:1700000000000000:{},{}", id(1), id(2))).expect("users");
        assert_eq!(parsed.change, Change::Users(vec![id(1), id(2)]));
        assert_eq!(
            parsed.at,
            Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000))
        );
        assert_eq!(
            Announced::parse(&format!("f:1:{}>{}", id(1), id(2))).map(|a| a.change),
            Some(Change::Follows(vec![(id(1), id(2))]))
        );
        assert_eq!(
            Announced::parse("*").map(|a| a.change),
            Some(Change::Everything)
        );
        assert_eq!(
            Announced::parse("marker:0/16B3A28:abc:h1").map(|a| a.change),
            Some(Change::Marker {
                token: "abc:h1".to_owned(),
                position: Lsn(0x16B_3A28)
            })
        );
        for bad in [
            "",
            "u",
            "u:x:1",
            "u:1:nope",
            "f:1:abc",
            "z:1:x",
            "b:1:a>b",
            "marker:abc",
            "marker:nolsn:abc",
        ] {
            assert_eq!(Announced::parse(bad), None, "{bad}");
        }
    }
}
