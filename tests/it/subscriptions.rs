//! Live profiles (SPEC §8): GraphQL subscriptions over WebSocket (`graphql-transport-ws`) on
//! `/graphql` — the protocol and its limits, events from every instance and from `psql`,
//! privacy decided per event, and a client that does not read.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use diesel_async::{AsyncConnection as _, SimpleAsyncConnection as _};
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::cache::patch;
use crate::harness::{Fixtures, Lcg, TestApp, test_config, uid, user};

/// How long a test waits for a message it expects (the machine is shared; the benchmark
/// measures the real latency).
const WAIT: Duration = Duration::from_secs(5);

/// An id that is no user's.
const MISSING: &str = "00000000000000000000dead";

const PROFILE: &str = "subscription($ids: [ID!]!) { profileChanged(ids: $ids) {
    id bio isPrivate followersCount isFollowedByViewer } }";
const AVAILABILITY: &str = "subscription($ids: [ID!]!) { availabilityChanged(ids: $ids) {
    userId availabilityStatus changedAt } }";

/// Serves `app` on a loopback port, as `serve` does.
pub async fn listen(app: &TestApp) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let router = app.router.clone();
    tokio::spawn(async move { axum::serve(listener, router).await });
    address
}

/// A `graphql-transport-ws` client.
pub struct Client {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Client {
    /// Connects to `/graphql` at `address`, asking for the protocol.
    pub async fn connect(address: SocketAddr) -> Self {
        Self::connect_with(address, Some("graphql-transport-ws"))
            .await
            .expect("upgrade")
    }

    /// Connects with `protocol` (or none); the HTTP status when the upgrade is refused.
    pub async fn connect_with(address: SocketAddr, protocol: Option<&str>) -> Result<Self, u16> {
        Self::connect_over(address, protocol, None).await
    }

    /// Connects as [`Client::connect`] does, with a receive buffer of `receive_buffer` bytes
    /// (a small one makes a client that does not read fill up quickly).
    pub async fn connect_over(
        address: SocketAddr,
        protocol: Option<&str>,
        receive_buffer: Option<u32>,
    ) -> Result<Self, u16> {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        if let Some(bytes) = receive_buffer {
            socket.set_recv_buffer_size(bytes).expect("buffer size");
        }
        let stream = socket.connect(address).await.expect("connect");
        let mut request = format!("ws://{address}/graphql")
            .into_client_request()
            .expect("request");
        if let Some(protocol) = protocol {
            request.headers_mut().insert(
                "sec-websocket-protocol",
                protocol.parse().expect("header value"),
            );
        }
        match tokio_tungstenite::client_async(request, MaybeTlsStream::Plain(stream)).await {
            Ok((socket, _)) => Ok(Self { socket }),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                Err(response.status().as_u16())
            }
            Err(e) => panic!("connect: {e}"),
        }
    }

    /// Sends a protocol message.
    pub async fn send(&mut self, message: Value) {
        self.socket
            .send(Message::text(message.to_string()))
            .await
            .expect("send");
    }

    /// `connection_init` with `payload`, expecting the acknowledgement.
    pub async fn init(&mut self, payload: Value) {
        self.send(json!({ "type": "connection_init", "payload": payload }))
            .await;
        assert_eq!(self.next().await, json!({ "type": "connection_ack" }));
    }

    /// `subscribe` with `id`, `query` and `variables`.
    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.send(json!({ "id": id, "type": "subscribe",
            "payload": { "query": query, "variables": variables } }))
            .await;
    }

    /// The next protocol message (answering the server's pings on the way); panics on a close
    /// or after [`WAIT`].
    pub async fn next(&mut self) -> Value {
        match self.next_within(WAIT).await {
            Some(message) => message,
            None => panic!("no message within {WAIT:?}"),
        }
    }

    /// The next protocol message within `wait`, if one comes.
    pub async fn next_within(&mut self, wait: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let message = tokio::time::timeout_at(deadline, self.socket.next())
                .await
                .ok()?;
            match message {
                Some(Ok(Message::Text(text))) => {
                    let value: Value = serde_json::from_str(&text).expect("JSON message");
                    if value["type"] == "ping" {
                        self.send(json!({ "type": "pong" })).await;
                        continue;
                    }
                    return Some(value);
                }
                Some(Ok(Message::Close(frame))) => panic!("closed: {frame:?}"),
                Some(Ok(_)) => {}
                other => panic!("connection failed: {other:?}"),
            }
        }
    }

    /// Subscribes `id` to `query` for `ids` and one id that is no user, and waits until the
    /// server has told that one is not found: from then on, every change reaches the
    /// subscription. A change committed just before the subscription (the fixtures', say) may
    /// still be on its way through the stream while the subscription starts, and show up first
    /// as the watched profiles' current state, on this subscription or an earlier one of the
    /// connection: such updates are passed over.
    pub async fn subscribe_ready(&mut self, id: &str, query: &str, ids: &[String]) {
        let mut with_missing = ids.to_vec();
        with_missing.push(MISSING.to_owned());
        self.subscribe(id, query, json!({ "ids": with_missing }))
            .await;
        let message = loop {
            let message = self.next().await;
            let payload = &message["payload"];
            let data_only = message["type"] == "next"
                && payload["errors"].is_null()
                && !payload["data"].is_null();
            if data_only {
                continue;
            }
            break message;
        };
        let payload = next_payload(&message, id);
        let error = &payload["errors"][0]["extensions"];
        assert_eq!(
            error["userId"], MISSING,
            "unexpected before the subscription was ready: {message}"
        );
        assert_eq!(error["code"], "NOT_FOUND", "{message}");
    }

    /// Every message until the connection ends, and the close frame's code and reason if one
    /// came (a server that gives up on a client may not get its close frame through).
    pub async fn rest(&mut self, wait: Duration) -> (Vec<Value>, Option<(u16, String)>) {
        let mut seen = Vec::new();
        loop {
            let message = tokio::time::timeout(wait, self.socket.next())
                .await
                .expect("the connection to end within the wait");
            match message {
                Some(Ok(Message::Text(text))) => {
                    seen.push(serde_json::from_str(&text).expect("JSON message"));
                }
                Some(Ok(Message::Close(frame))) => {
                    let frame = frame.map(|f| (u16::from(f.code), f.reason.to_string()));
                    return (seen, frame);
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return (seen, None),
            }
        }
    }

    /// The close code and reason the server ends with.
    pub async fn closed(&mut self) -> (u16, String) {
        loop {
            let message = tokio::time::timeout(WAIT, self.socket.next())
                .await
                .expect("a close within the wait");
            match message {
                Some(Ok(Message::Close(Some(frame)))) => {
                    return (u16::from(frame.code), frame.reason.to_string());
                }
                Some(Ok(Message::Close(None))) | None => return (0, String::new()),
                Some(Ok(_)) => {}
                Some(Err(e)) => panic!("connection failed before a close: {e}"),
            }
        }
    }
}

/// The `payload` of a `next` message for subscription `id`.
fn next_payload(message: &Value, id: &str) -> Value {
    assert_eq!(message["type"], "next", "{message}");
    assert_eq!(message["id"], id, "{message}");
    message["payload"].clone()
}

#[tokio::test]
async fn the_connection_carries_the_request_context() {
    let app = TestApp::new().await;
    app.insert(Fixtures::default().user(user(1)).user(user(2)))
        .await;
    let address = listen(&app).await;
    let mut client = Client::connect(address).await;
    client
        .init(json!({
            "Authorization": format!("Bearer {}", app.token(&uid(2))),
            "Accept-Language": "tr-TR,tr;q=0.9",
            "X-Timezone": "UTC+03:00",
        }))
        .await;
    client.subscribe_ready("a", AVAILABILITY, &[uid(1)]).await;
    client.subscribe_ready("p", PROFILE, &[uid(1)]).await;
    // Subscribed when nothing has changed yet: a change made in SQL comes through.
    app.execute(&format!(
        "UPDATE users SET availability_status = 'busy', updated_at = '2026-06-01T10:00:00Z' \
         WHERE id = '{}'",
        uid(1)
    ))
    .await;
    let mut seen = [client.next().await, client.next().await];
    seen.sort_by_key(|m| m["id"].as_str().unwrap_or_default().to_owned());
    let availability = next_payload(&seen[0], "a");
    assert_eq!(
        availability["data"]["availabilityChanged"]["userId"],
        uid(1)
    );
    assert_eq!(
        availability["data"]["availabilityChanged"]["availabilityStatus"],
        "busy"
    );
    let at = availability["data"]["availabilityChanged"]["changedAt"]
        .as_str()
        .expect("changedAt");
    assert!(at.ends_with("+03:00"), "{at}");
    let profile = next_payload(&seen[1], "p");
    assert_eq!(
        profile,
        json!({ "data": { "profileChanged": {
            "id": uid(1), "bio": null, "isPrivate": false, "followersCount": 0,
            "isFollowedByViewer": false } } })
    );
}

#[tokio::test]
async fn bad_ids_are_refused_in_the_connections_language() {
    let app = TestApp::new().await;
    let address = listen(&app).await;
    let mut client = Client::connect(address).await;
    client.init(json!({ "Accept-Language": "tr" })).await;
    let many: Vec<String> = (0..101).map(uid).collect();
    client
        .subscribe("many", PROFILE, json!({ "ids": many }))
        .await;
    let refused = client.next().await;
    assert_eq!(refused["id"], "many");
    let payload = next_payload(&refused, "many");
    assert_eq!(payload["data"], json!({ "profileChanged": null }));
    assert_eq!(payload["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    assert_eq!(
        payload["errors"][0]["message"],
        "ids en fazla 100 kimlik kabul eder"
    );
    assert_eq!(
        client.next().await,
        json!({ "id": "many", "type": "complete" })
    );
    // An id that is not one, and one that is no user: the second is told at once.
    client
        .subscribe("bad", PROFILE, json!({ "ids": ["nope"] }))
        .await;
    let bad = next_payload(&client.next().await, "bad");
    assert_eq!(bad["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    assert_eq!(
        client.next().await,
        json!({ "id": "bad", "type": "complete" })
    );
    client
        .subscribe("missing", PROFILE, json!({ "ids": [uid(9)] }))
        .await;
    let missing = next_payload(&client.next().await, "missing");
    assert_eq!(missing["data"], json!({ "profileChanged": null }));
    assert_eq!(missing["errors"][0]["extensions"]["code"], "NOT_FOUND");
    assert_eq!(missing["errors"][0]["extensions"]["userId"], uid(9));
    assert_eq!(missing["errors"][0]["path"], json!(["profileChanged"]));
    // A document that does not validate: one `error`, no `complete`.
    client
        .subscribe("invalid", "subscription { nope }", json!({}))
        .await;
    let invalid = client.next().await;
    assert_eq!(invalid["type"], "error", "{invalid}");
    assert_eq!(invalid["id"], "invalid");
    assert_eq!(
        invalid["payload"][0]["extensions"]["code"],
        "BAD_USER_INPUT"
    );
    // Queries run too, as the protocol allows.
    client
        .subscribe(
            "q",
            "{ user(id: \"000000000000000000000009\") { id } }",
            json!({}),
        )
        .await;
    let query = next_payload(&client.next().await, "q");
    assert_eq!(query["errors"][0]["extensions"]["code"], "NOT_FOUND");
    assert_eq!(
        client.next().await,
        json!({ "id": "q", "type": "complete" })
    );
}

#[tokio::test]
async fn bad_credentials_and_protocol_errors_close_with_the_protocols_codes() {
    let app = TestApp::new().await;
    app.insert(Fixtures::default().user(user(1))).await;
    let address = listen(&app).await;

    let mut bad_token = Client::connect(address).await;
    bad_token
        .send(json!({ "type": "connection_init",
            "payload": { "Authorization": "Bearer nope", "Accept-Language": "en" } }))
        .await;
    let (code, reason) = bad_token.closed().await;
    assert_eq!(code, 4401, "{reason}");
    assert!(!reason.is_empty());

    // A valid token whose user does not exist: the same as over HTTP (401).
    let mut unknown = Client::connect(address).await;
    unknown
        .send(json!({ "type": "connection_init",
            "payload": { "Authorization": format!("Bearer {}", app.token(&uid(7))) } }))
        .await;
    assert_eq!(
        unknown.closed().await,
        (
            4401,
            "The token's user does not exist or is deactivated".to_owned()
        )
    );

    let mut bad_zone = Client::connect(address).await;
    bad_zone
        .send(json!({ "type": "connection_init", "payload": { "X-Timezone": "Mars/Base" } }))
        .await;
    assert_eq!(bad_zone.closed().await.0, 4400);

    let mut early = Client::connect(address).await;
    early
        .subscribe("1", PROFILE, json!({ "ids": [uid(1)] }))
        .await;
    assert_eq!(early.closed().await, (4401, "Unauthorized".to_owned()));

    let mut twice = Client::connect(address).await;
    twice.init(json!({})).await;
    twice.send(json!({ "type": "connection_init" })).await;
    assert_eq!(twice.closed().await.0, 4429);

    let mut duplicate = Client::connect(address).await;
    duplicate.init(json!({})).await;
    duplicate
        .subscribe("1", PROFILE, json!({ "ids": [uid(1)] }))
        .await;
    duplicate
        .subscribe("1", PROFILE, json!({ "ids": [uid(1)] }))
        .await;
    assert_eq!(
        duplicate.closed().await,
        (4409, "Subscriber for 1 already exists".to_owned())
    );

    let mut garbage = Client::connect(address).await;
    garbage.send(json!({ "type": "nonsense" })).await;
    assert_eq!(garbage.closed().await.0, 4400);

    let mut no_protocol = Client::connect_with(address, None).await.expect("upgrade");
    assert_eq!(no_protocol.closed().await.0, 4406);

    // Ping, pong.
    let mut pinging = Client::connect(address).await;
    pinging.init(json!(null)).await;
    pinging.send(json!({ "type": "ping" })).await;
    assert_eq!(pinging.next().await, json!({ "type": "pong" }));
}

#[tokio::test]
async fn a_session_ends_when_its_token_expires() {
    let app = TestApp::new().await;
    app.insert(Fixtures::default().user(user(1)).user(user(2)))
        .await;
    let address = listen(&app).await;
    let viewer = profile_api::profiles::ObjectId::parse(&uid(2)).expect("id");
    // Valid for this second and the next: it expires within two seconds.
    let token = app
        .keys
        .mint(&viewer, false, Duration::from_secs(1))
        .expect("mint");
    let mut client = Client::connect(address).await;
    client
        .init(json!({ "Authorization": format!("Bearer {token}"), "Accept-Language": "tr" }))
        .await;
    client.subscribe_ready("1", PROFILE, &[uid(1)]).await;
    let started = std::time::Instant::now();
    assert_eq!(
        client.closed().await,
        (4401, "Belirtecin süresi dolmuş".to_owned())
    );
    assert!(started.elapsed() < Duration::from_secs(3));

    // An anonymous session has no token to expire: it stays.
    let mut anonymous = Client::connect(address).await;
    anonymous.init(json!({})).await;
    anonymous.subscribe_ready("1", PROFILE, &[uid(1)]).await;
    let ended = tokio::time::timeout(Duration::from_millis(2500), anonymous.closed()).await;
    assert!(ended.is_err(), "an anonymous session closed: {ended:?}");
}

#[tokio::test]
async fn limits_and_timeouts() {
    let mut config = test_config();
    config.graphql.ws_max_connections = 2;
    config.graphql.ws_max_subscriptions = 1;
    config.graphql.ws_init_timeout = Duration::from_millis(300);
    config.graphql.ws_ping_interval = Duration::from_millis(300);
    let app = TestApp::with_config(config).await;
    app.insert(Fixtures::default().user(user(1))).await;
    let address = listen(&app).await;

    let mut silent = Client::connect(address).await;
    let (code, reason) = silent.closed().await;
    assert_eq!(
        (code, reason.as_str()),
        (4408, "Connection initialisation timeout")
    );

    let mut first = Client::connect(address).await;
    first.init(json!({})).await;
    first
        .subscribe("1", PROFILE, json!({ "ids": [uid(1)] }))
        .await;
    first
        .subscribe("2", PROFILE, json!({ "ids": [uid(1)] }))
        .await;
    // The fixture's insert may still be on its way through the change stream and reach the
    // first subscription before the refusal: that update is not what this checks.
    let refused = loop {
        let message = first.next().await;
        if message["type"] != "next" || message["id"] != "1" {
            break message;
        }
    };
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(refused["id"], "2");
    assert_eq!(
        refused["payload"],
        json!([{ "message": "A connection may run at most 1 operations at once",
            "extensions": { "code": "BAD_USER_INPUT", "field": "subscribe",
              "messages": ["Validation failed",
                "A connection may run at most 1 operations at once"] } }])
    );
    // Completing the first frees its place.
    first.send(json!({ "id": "1", "type": "complete" })).await;
    first
        .subscribe("3", PROFILE, json!({ "ids": [uid(1)] }))
        .await;
    assert_eq!(first.next_within(Duration::from_millis(500)).await, None);

    let _second = Client::connect(address).await;
    assert_eq!(
        Client::connect_with(address, Some("graphql-transport-ws"))
            .await
            .err(),
        Some(503)
    );

    // A client that answers no ping is closed; `first` answers them (in `next_within`).
    let mut deaf = {
        drop(_second);
        tokio::time::sleep(Duration::from_millis(100)).await;
        Client::connect(address).await
    };
    deaf.send(json!({ "type": "connection_init" })).await;
    drop(first);
    let (code, _) = deaf.closed().await;
    assert_eq!(code, 3008);
}

#[tokio::test]
async fn changes_from_any_instance_and_from_psql_reach_every_subscriber() {
    let a = TestApp::new().await;
    let b = a.another_instance(test_config()).await;
    a.insert(Fixtures::default().user(user(1)).user(user(2)))
        .await;
    let token = a.token(&uid(1));
    let mut on_a = Client::connect(listen(&a).await).await;
    let mut on_b = Client::connect(listen(&b).await).await;
    for client in [&mut on_a, &mut on_b] {
        client.init(json!({})).await;
        client.subscribe_ready("p", PROFILE, &[uid(1)]).await;
    }
    // Through REST on one instance.
    patch(&a, &token, json!({ "bio": "written on a" })).await;
    for client in [&mut on_a, &mut on_b] {
        let payload = next_payload(&client.next().await, "p");
        assert_eq!(payload["data"]["profileChanged"]["bio"], "written on a");
    }
    // In psql, as an operator would.
    let url = secrecy::ExposeSecret::expose_secret(&a.database_url()).to_owned();
    let mut conn = diesel_async::AsyncPgConnection::establish(&url)
        .await
        .expect("connect");
    conn.batch_execute(&format!(
        "UPDATE users SET bio = 'from psql' WHERE id = '{}'",
        uid(1)
    ))
    .await
    .expect("update");
    for client in [&mut on_a, &mut on_b] {
        let payload = next_payload(&client.next().await, "p");
        assert_eq!(payload["data"]["profileChanged"]["bio"], "from psql");
    }
    // A follow changes the followee's counts: every subscriber hears of it.
    let follower = a.token(&uid(2));
    let response = b
        .graphql(
            &format!("mutation {{ follow(userId: \"{}\") }}", uid(1)),
            json!({}),
        )
        .bearer(&follower)
        .send()
        .await;
    assert_eq!(
        response.json()["data"]["follow"],
        "ACCEPTED",
        "{}",
        response.text
    );
    for client in [&mut on_a, &mut on_b] {
        let payload = next_payload(&client.next().await, "p");
        assert_eq!(payload["data"]["profileChanged"]["followersCount"], 1);
    }
}

#[tokio::test]
async fn a_profile_out_of_sight_says_nothing_until_it_is_back() {
    let app = TestApp::new().await;
    app.insert(
        Fixtures::default()
            .user(user(1))
            .user(user(2))
            .user(user(3)),
    )
    .await;
    let address = listen(&app).await;
    let mut watcher = Client::connect(address).await;
    watcher
        .init(json!({ "Authorization": format!("Bearer {}", app.token(&uid(2))) }))
        .await;
    watcher.subscribe_ready("p", PROFILE, &[uid(1)]).await;
    let mut availability = Client::connect(address).await;
    availability
        .init(json!({ "Authorization": format!("Bearer {}", app.token(&uid(2))) }))
        .await;
    availability
        .subscribe_ready("a", AVAILABILITY, &[uid(1)])
        .await;

    let set = |sql: &str| format!("UPDATE users SET {sql} WHERE id = '{}'", uid(1));
    app.execute(&set("is_private = true")).await;
    let hidden = next_payload(&watcher.next().await, "p");
    assert_eq!(hidden["data"], json!({ "profileChanged": null }));
    assert_eq!(hidden["errors"][0]["extensions"]["code"], "FORBIDDEN");
    assert_eq!(hidden["errors"][0]["extensions"]["userId"], uid(1));
    let hidden = next_payload(&availability.next().await, "a");
    assert_eq!(hidden["errors"][0]["extensions"]["code"], "FORBIDDEN");

    // Changes out of sight are not even hinted at.
    app.execute(&set("bio = 'secret', availability_status = 'busy'"))
        .await;
    app.execute(&set("bio = 'secret again'")).await;
    // A follow request that is still pending shows nothing either.
    app.execute(&format!(
        "INSERT INTO follows (follower_id, followee_id, status, created_at)          VALUES ('{}', '{}', 'pending', now())",
        uid(2),
        uid(1)
    ))
    .await;
    // A change another viewer's relation makes says nothing to this one.
    app.execute(&format!(
        "INSERT INTO blocks (blocker_id, blocked_id, created_at) VALUES ('{}', '{}', now())",
        uid(1),
        uid(3)
    ))
    .await;
    assert_eq!(watcher.next_within(Duration::from_millis(500)).await, None);
    assert_eq!(
        availability.next_within(Duration::from_millis(100)).await,
        None
    );

    // Approved: back in sight, with its current state.
    app.execute(&format!(
        "UPDATE follows SET status = 'accepted' WHERE follower_id = '{}' AND followee_id = '{}'",
        uid(2),
        uid(1)
    ))
    .await;
    let back = next_payload(&watcher.next().await, "p");
    assert_eq!(
        back,
        json!({ "data": { "profileChanged": { "id": uid(1), "bio": "secret again",
            "isPrivate": true, "followersCount": 1, "isFollowedByViewer": true } } })
    );
    let back = next_payload(&availability.next().await, "a");
    assert_eq!(
        back["data"]["availabilityChanged"]["availabilityStatus"],
        "busy"
    );

    // Blocked, then deactivated: told once, then silence.
    app.execute(&format!(
        "INSERT INTO blocks (blocker_id, blocked_id, created_at) VALUES ('{}', '{}', now())",
        uid(1),
        uid(2)
    ))
    .await;
    let blocked = next_payload(&watcher.next().await, "p");
    assert_eq!(blocked["errors"][0]["extensions"]["code"], "FORBIDDEN");
    app.execute(&set("deactivated_at = now()")).await;
    app.execute(&format!(
        "DELETE FROM blocks WHERE blocked_id = '{}'",
        uid(2)
    ))
    .await;
    assert_eq!(watcher.next_within(Duration::from_millis(500)).await, None);
    // Back, but the block ended the follow (a database rule): still private to the watcher.
    app.execute(&set("deactivated_at = NULL")).await;
    assert_eq!(watcher.next_within(Duration::from_millis(500)).await, None);
    app.execute(&set("is_private = false")).await;
    let active = next_payload(&watcher.next().await, "p");
    assert_eq!(active["data"]["profileChanged"]["id"], uid(1));

    // The watcher's own account deactivated: its token is no longer good, its watch ends.
    app.execute(&format!(
        "UPDATE users SET deactivated_at = now() WHERE id = '{}'",
        uid(2)
    ))
    .await;
    let ended = next_payload(&watcher.next().await, "p");
    assert_eq!(ended["data"], json!({ "profileChanged": null }));
    assert_eq!(ended["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    assert_eq!(
        watcher.next().await,
        json!({ "id": "p", "type": "complete" })
    );
}

/// After `pause`, reads subscription `p`'s updates until none comes for a while: the latest bio
/// per id, and how many updates came.
async fn latest_states(mut client: Client, pause: Duration) -> (HashMap<Value, Value>, usize) {
    tokio::time::sleep(pause).await;
    let mut latest = HashMap::new();
    let mut count = 0;
    while let Some(message) = client.next_within(Duration::from_secs(3)).await {
        let profile = next_payload(&message, "p")["data"]["profileChanged"].clone();
        latest.insert(profile["id"].clone(), profile["bio"].clone());
        count += 1;
    }
    (latest, count)
}

/// The statement that makes `blocker` block `blocked` (or no longer).
fn block(blocks: bool, blocker: &str, blocked: &str) -> String {
    if blocks {
        format!(
            "INSERT INTO blocks (blocker_id, blocked_id, created_at) \
             VALUES ('{blocker}', '{blocked}', now())"
        )
    } else {
        format!("DELETE FROM blocks WHERE blocker_id = '{blocker}' AND blocked_id = '{blocked}'")
    }
}

/// What a target looks like to the subscribers at one step of the privacy test.
#[derive(Debug, Clone, Default)]
struct TargetState {
    private: bool,
    deactivated: bool,
    /// Per viewer: its follow of the target (`Some(true)` accepted, `Some(false)` pending).
    followed_by: [Option<bool>; VIEWERS],
    /// Per viewer: the target's pending request to follow it.
    asked: [bool; VIEWERS],
    /// Per viewer: the target blocked it.
    blocks: [bool; VIEWERS],
    /// Per viewer: it blocked the target (changes nothing the viewer may see).
    blocked_by: [bool; VIEWERS],
}

/// Signed-in viewers of the privacy test (the last one an admin); one more subscriber is
/// anonymous.
const VIEWERS: usize = 4;

impl TargetState {
    /// The privacy rule of SPEC §3, written out independently of the code under test.
    fn visible_to(&self, viewer: usize) -> bool {
        if self.deactivated {
            return false;
        }
        if viewer == VIEWERS {
            return !self.private;
        }
        if self.blocks[viewer] {
            return false;
        }
        let admin = viewer == VIEWERS - 1;
        !self.private || self.followed_by[viewer] == Some(true) || self.asked[viewer] || admin
    }
}

#[tokio::test]
async fn no_subscriber_ever_receives_a_profile_it_may_not_see_at_that_moment() {
    let a = TestApp::new().await;
    let b = a.another_instance(test_config()).await;
    let targets: Vec<String> = (1..=3).map(uid).collect();
    let viewers: Vec<String> = (11..11 + VIEWERS as u32).map(uid).collect();
    let mut fixtures = Fixtures::default();
    for n in (1..=3).chain(11..11 + VIEWERS as u32) {
        fixtures = fixtures.user(user(n));
    }
    a.insert(fixtures).await;
    let addresses = [listen(&a).await, listen(&b).await];

    // One subscriber per viewer and an anonymous one, alternating between the instances; each
    // collects what it receives until told to stop.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut readers = Vec::new();
    for viewer in 0..=VIEWERS {
        let mut client = Client::connect(addresses[viewer % 2]).await;
        let payload = match viewer {
            v if v == VIEWERS => json!({}),
            v if v == VIEWERS - 1 => {
                json!({ "Authorization": format!("Bearer {}", a.admin_token(&viewers[v])) })
            }
            v => json!({ "Authorization": format!("Bearer {}", a.token(&viewers[v])) }),
        };
        client.init(payload).await;
        client
            .subscribe_ready(
                "p",
                "subscription($ids: [ID!]!) { profileChanged(ids: $ids) { id bio } }",
                &targets,
            )
            .await;
        let mut stopped = stopped.clone();
        readers.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            loop {
                tokio::select! {
                    message = client.next_within(Duration::from_secs(3600)) => {
                        seen.push(message.expect("a message"));
                    }
                    _ = stopped.changed() => break,
                }
            }
            while let Some(message) = client.next_within(Duration::from_millis(1500)).await {
                seen.push(message);
            }
            seen
        }));
    }

    // Random steps, each one transaction that changes one relation or setting of a target and
    // stamps the target's bio with the step number; each step's state is recorded.
    let mut rng = Lcg(0x5eed_1234);
    let mut states: Vec<Vec<TargetState>> = vec![vec![TargetState::default()]; 3];
    let steps = 80;
    for step in 1..=steps {
        let t = rng.next(3) as usize;
        let v = rng.next(VIEWERS as u64) as usize;
        let (target, viewer) = (&targets[t], &viewers[v]);
        let mut state = states[t].last().cloned().unwrap_or_default();
        let change = match rng.next(6) {
            0 => {
                state.private = !state.private;
                format!(
                    "UPDATE users SET is_private = {} WHERE id = '{target}'",
                    state.private
                )
            }
            1 => {
                state.deactivated = !state.deactivated;
                let at = if state.deactivated { "now()" } else { "NULL" };
                format!("UPDATE users SET deactivated_at = {at} WHERE id = '{target}'")
            }
            2 => {
                state.followed_by[v] = match state.followed_by[v] {
                    None => Some(false),
                    Some(false) => Some(true),
                    Some(true) => None,
                };
                match state.followed_by[v] {
                    None => format!(
                        "DELETE FROM follows WHERE follower_id = '{viewer}' AND followee_id = '{target}'"
                    ),
                    Some(accepted) => {
                        let status = if accepted { "accepted" } else { "pending" };
                        format!(
                            "INSERT INTO follows (follower_id, followee_id, status, created_at) \
                             VALUES ('{viewer}', '{target}', '{status}', now()) \
                             ON CONFLICT (follower_id, followee_id) DO UPDATE SET status = EXCLUDED.status"
                        )
                    }
                }
            }
            3 => {
                state.asked[v] = !state.asked[v];
                if state.asked[v] {
                    format!(
                        "INSERT INTO follows (follower_id, followee_id, status, created_at) \
                         VALUES ('{target}', '{viewer}', 'pending', now())"
                    )
                } else {
                    format!(
                        "DELETE FROM follows WHERE follower_id = '{target}' AND followee_id = '{viewer}'"
                    )
                }
            }
            4 => {
                state.blocks[v] = !state.blocks[v];
                block(state.blocks[v], target, viewer)
            }
            _ => {
                state.blocked_by[v] = !state.blocked_by[v];
                block(state.blocked_by[v], viewer, target)
            }
        };
        // Steps of other targets happen in between; the stamp names this target's own state.
        let stamp = states[t].len();
        states[t].push(state);
        let app = if rng.next(2) == 0 { &a } else { &b };
        app.execute(&format!(
            "BEGIN; {change}; UPDATE users SET bio = 's{stamp}' WHERE id = '{target}'; COMMIT;"
        ))
        .await;
        if rng.next(3) == 0 {
            tokio::time::sleep(Duration::from_millis(rng.next(30))).await;
        }
        let _ = step;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.send(true).expect("readers listening");

    let mut delivered = 0;
    for (viewer, reader) in readers.into_iter().enumerate() {
        let seen = reader.await.expect("reader");
        for (t, target) in targets.iter().enumerate() {
            let about: Vec<&Value> = seen
                .iter()
                .map(|m| &m["payload"])
                .filter(|p| {
                    p["data"]["profileChanged"]["id"] == *target
                        || p["errors"][0]["extensions"]["userId"] == *target
                })
                .collect();
            let mut last_stamp = 0;
            for payload in &about {
                let profile = &payload["data"]["profileChanged"];
                if profile.is_null() {
                    let code = &payload["errors"][0]["extensions"]["code"];
                    assert!(code == "FORBIDDEN" || code == "NOT_FOUND", "{payload}");
                    continue;
                }
                delivered += 1;
                let stamp: usize = profile["bio"]
                    .as_str()
                    .map_or(0, |bio| bio[1..].parse().expect("a stamp"));
                assert!(
                    states[t][stamp].visible_to(viewer),
                    "viewer {viewer} received target {t} in state {stamp}, which it may not see: {:?}",
                    states[t][stamp]
                );
                assert!(stamp >= last_stamp, "an older state after a newer one");
                last_stamp = stamp;
            }
            let last = states[t].len() - 1;
            let end = about.last().map(|p| &p["data"]["profileChanged"]);
            if states[t][last].visible_to(viewer) {
                if last > 0 {
                    assert_eq!(
                        end.map(|p| p["bio"].clone()),
                        Some(json!(format!("s{last}"))),
                        "viewer {viewer} did not get target {t}'s last state"
                    );
                }
            } else {
                assert_eq!(
                    end,
                    Some(&Value::Null),
                    "viewer {viewer} was not told it lost sight of target {t}"
                );
            }
        }
    }
    println!("privacy: {delivered} profiles delivered over {steps} steps, none out of sight");
}

#[tokio::test]
async fn a_client_that_does_not_read_gets_the_latest_states_or_is_closed_and_hurts_no_one() {
    let mut config = test_config();
    // Well above the paused client's pause (2.5 s): on a loaded machine the client's task may
    // wait a while before it reads again.
    config.graphql.ws_send_timeout = Duration::from_secs(6);
    let app = TestApp::with_config(config).await;
    // With the id that is no user's, the most one subscription may watch.
    let ids: Vec<String> = (1..=99).map(uid).collect();
    let mut fixtures = Fixtures::default();
    for n in 1..=99 {
        fixtures = fixtures.user(user(n));
    }
    app.insert(fixtures).await;
    let address = listen(&app).await;
    // Aliases make each update a few kilobytes, so that the buffers between the server and a
    // client that does not read fill within a few rounds.
    let query = "subscription($ids: [ID!]!) { profileChanged(ids: $ids) {
        id bio b1: bio b2: bio b3: bio b4: bio b5: bio b6: bio b7: bio b8: bio b9: bio b10: bio b11: bio b12: bio b13: bio b14: bio b15: bio b16: bio b17: bio b18: bio b19: bio b20: bio } }";

    let mut prompt = Client::connect(address).await;
    let small = || Client::connect_over(address, Some("graphql-transport-ws"), Some(4096));
    let mut paused = small().await.expect("upgrade");
    let mut stuck = small().await.expect("upgrade");
    for client in [&mut prompt, &mut paused, &mut stuck] {
        client.init(json!({})).await;
        client.subscribe_ready("p", query, &ids).await;
    }

    // The prompt client reads all along; the paused one stops reading for less than the send
    // timeout, then reads on.
    let prompt = tokio::spawn(latest_states(prompt, Duration::ZERO));
    let paused = tokio::spawn(latest_states(paused, Duration::from_millis(2500)));

    // Every id changes, with a long bio, for longer than the send timeout.
    let padding = "x".repeat(400);
    let started = std::time::Instant::now();
    let mut rounds = 0;
    while started.elapsed() < Duration::from_secs(9) && rounds < 1000 {
        rounds += 1;
        app.execute(&format!(
            "UPDATE users SET bio = 'r{rounds} {padding}' WHERE id <> '{MISSING}'"
        ))
        .await;
    }
    let last = format!("r{rounds} {padding}");
    let produced = rounds * ids.len();

    let (latest, count) = prompt.await.expect("prompt reader");
    assert_eq!(latest.len(), ids.len());
    assert!(
        latest.values().all(|bio| *bio == last),
        "the prompt client missed the last state"
    );
    let (paused_latest, paused_count) = paused.await.expect("paused reader");
    assert_eq!(paused_latest.len(), ids.len());
    assert!(
        paused_latest.values().all(|bio| *bio == last),
        "the paused client did not catch up with the latest state"
    );
    assert!(
        paused_count < produced,
        "the paused client got every intermediate state ({paused_count} of {produced})"
    );

    let (seen, close) = stuck.rest(Duration::from_secs(10)).await;
    assert!(
        seen.len() < produced,
        "the stuck client was never held back"
    );
    if let Some(close) = &close {
        assert_eq!(
            *close,
            (
                1008,
                "The client did not read its messages in time".to_owned()
            )
        );
    }
    println!(
        "slow consumers: {rounds} rounds, {produced} updates; prompt got {count}, paused {paused_count} \
         (coalesced), stuck {} before it was closed ({close:?})",
        seen.len()
    );
}
