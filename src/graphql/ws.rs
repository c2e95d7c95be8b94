//! GraphQL over WebSocket on `/graphql`: the `graphql-transport-ws` protocol (the `graphql-ws`
//! library's), for subscriptions and, as the protocol allows, queries and mutations.
//!
//! async-graphql executes the operations; the connection is ours, because the library's own
//! loop cannot say what the protocol and SPEC §8 ask for: the close codes of a bad
//! `connection_init` (4400 for a bad header value, 4401 for a bad token — what HTTP answers with
//! 400 and 401 — and 4401 again the moment the session's token expires), 4408 when no
//! `connection_init` comes in time, 4409 for an id in use, 4429 for a
//! second `connection_init`; limits on operations per connection and connections per instance;
//! server pings; and what to do with a client that does not read.
//!
//! A client that does not read cannot hold up anyone else: each connection runs in its own task,
//! and while a message waits for the socket, the connection's subscriptions are not polled, so
//! their updates coalesce to the latest state per id ([`crate::profiles::live`]). A message that
//! has waited [`GraphqlLimits::ws_send_timeout`] closes the connection (1008, with the reason),
//! so a stuck client holds its buffers for a bounded time only.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationType, Selection,
};
use axum::extract::FromRequestParts as _;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{BoxStream, SelectAll, SplitSink, SplitStream};
use futures_util::{SinkExt as _, Stream, StreamExt as _};
use http::request::Parts;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use super::documents::{Parsed, Revalidation};
use super::loaders::Loaders;
use super::subscription::{Phase, live_schema};
use super::{Executor, error, http as gql_http};
use crate::config::GraphqlLimits;
use crate::context::RequestContext;
use crate::error::{AppError, FieldError};
use crate::i18n::MessageId;
use crate::identity::{Credentials, Viewer};
use crate::profiles::service;
use crate::state::AppState;

/// The subprotocol spoken.
pub const PROTOCOL: &str = "graphql-transport-ws";

/// The read buffer of a connection, allocated when it opens and kept while it lives: what a
/// client sends is small (`connection_init`, `subscribe`, `pong`), and a larger message (up to
/// the body limit) grows it to fit. 1 KiB rather than tungstenite's 128 KiB or the 4 KiB this
/// used to be: 10,000 idle subscribers keep 10 MiB of it, not 40.
const READ_BUFFER: usize = 1024;

/// How long a closing frame may take to go out to a client that stopped reading.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

/// Open WebSocket connections of this instance.
#[derive(Debug, Default)]
pub struct Connections(AtomicUsize);

/// One open connection, counted while it lives.
struct Counted(Arc<Connections>);

impl Drop for Counted {
    fn drop(&mut self) {
        let open = self.0.0.fetch_sub(1, Ordering::SeqCst) - 1;
        metrics::gauge!("graphql_ws_connections").set(open as f64);
    }
}

/// Whether a request asks to upgrade to a WebSocket.
pub fn is_upgrade(headers: &HeaderMap) -> bool {
    headers
        .get(http::header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// Upgrades `/graphql` to a WebSocket speaking [`PROTOCOL`], unless the instance holds its
/// maximum of connections (503, so a load balancer tries another).
pub async fn upgrade(
    state: AppState,
    executor: Executor,
    connections: Arc<Connections>,
    ctx: &RequestContext,
    mut parts: Parts,
) -> Response {
    let (max_connections, max_body_bytes) = {
        let limits = &state.config().graphql;
        (limits.ws_max_connections, limits.max_body_bytes)
    };
    let upgrade = match WebSocketUpgrade::from_request_parts(&mut parts, &state).await {
        Ok(upgrade) => upgrade,
        Err(rejection) => return rejection.into_response(),
    };
    let open = connections.0.fetch_add(1, Ordering::SeqCst) + 1;
    let counted = Counted(connections);
    if open > max_connections {
        drop(counted);
        let error = AppError::Unavailable("too many WebSocket connections".to_owned());
        let mut response = super::request_error(
            ctx,
            gql_http::ResponseType::Json,
            StatusCode::SERVICE_UNAVAILABLE,
            &error,
        );
        response
            .headers_mut()
            .insert(http::header::RETRY_AFTER, HeaderValue::from_static("1"));
        return response;
    }
    metrics::gauge!("graphql_ws_connections").set(open as f64);
    upgrade
        .protocols([PROTOCOL])
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(0)
        .max_write_buffer_size(max_body_bytes.max(1024 * 1024))
        .max_message_size(max_body_bytes)
        .max_frame_size(max_body_bytes)
        .on_upgrade(move |socket| async move {
            // The connection gets a task of its own, and axum's task — which holds the state of
            // the upgrade until this callback returns, kilobytes each — ends now.
            let protocol_missing = socket.protocol().is_none();
            let (sink, incoming) = socket.split();
            let serve =
                Connection::new(state, executor, counted).serve(sink, incoming, protocol_missing);
            tracing::trace!(
                bytes = std::mem::size_of_val(&serve),
                "WebSocket connection task"
            );
            tokio::spawn(serve);
        })
}

/// What a client sends.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientMessage {
    ConnectionInit {
        #[serde(default)]
        payload: Option<Value>,
    },
    Ping {},
    Pong {},
    Subscribe {
        id: String,
        payload: SubscribePayload,
    },
    Complete {
        id: String,
    },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SubscribePayload {
    query: Option<String>,
    operation_name: Option<String>,
    variables: Option<serde_json::Map<String, Value>>,
    extensions: Option<serde_json::Map<String, Value>>,
}

/// What a step of the connection leads to.
enum Step {
    /// Nothing to send.
    Nothing,
    /// Send these.
    Send(Vec<Value>),
    /// Close with this code and reason.
    Close(u16, String),
}

/// An operation's responses, then `None` when it ends.
type Operation = Pin<Box<dyn Stream<Item = (String, Option<async_graphql::Response>)> + Send>>;

/// The two halves of a connection's socket.
type Sink = SplitSink<WebSocket, Message>;
type Incoming = SplitStream<WebSocket>;

/// The state of one connection.
///
/// It lives as long as the connection, ten thousand times over on a busy instance, so it keeps
/// only what every idle connection needs: what runs rarely or briefly (`connection_init`'s token
/// check, sending, closing) is boxed while it runs, and the limits are read from the shared
/// configuration rather than copied.
struct Connection {
    state: AppState,
    executor: Executor,
    /// The context and viewer of `connection_init`, once acknowledged.
    session: Option<(Arc<RequestContext>, Viewer)>,
    /// Whether `connection_init` came (acknowledged or not).
    initialised: bool,
    /// Running operations: their ids and a switch that stops each.
    running: HashMap<String, futures_util::future::AbortHandle>,
    operations: SelectAll<Operation>,
    /// Counts the connection while it lives.
    _counted: Counted,
}

impl Connection {
    fn new(state: AppState, executor: Executor, counted: Counted) -> Self {
        Self {
            state,
            executor,
            session: None,
            initialised: false,
            running: HashMap::new(),
            operations: SelectAll::new(),
            _counted: counted,
        }
    }

    fn limits(&self) -> &GraphqlLimits {
        &self.state.config().graphql
    }

    async fn serve(mut self, mut sink: Sink, mut incoming: Incoming, protocol_missing: bool) {
        if protocol_missing {
            Box::pin(close(&mut sink, 4406, "Subprotocol not acceptable")).await;
            return;
        }
        // Boxed; once the session starts, it becomes the token's expiry (if signed in).
        let mut deadline = Some((
            Deadline::Init,
            Box::pin(tokio::time::sleep(self.limits().ws_init_timeout)),
        ));
        let ping_interval = self.limits().ws_ping_interval;
        let mut pings =
            tokio::time::interval_at(tokio::time::Instant::now() + ping_interval, ping_interval);
        let mut awaiting_pong = false;
        loop {
            let step = tokio::select! {
                biased;
                message = incoming.next() => match message {
                    Some(Ok(message)) => {
                        awaiting_pong = false;
                        // Boxed: the rare, large futures (the token's database check) would
                        // otherwise be part of every idle connection's state.
                        Box::pin(self.received(message)).await
                    }
                    // Closed by the client, or the connection failed.
                    Some(Err(_)) | None => return,
                },
                kind = elapsed(&mut deadline), if deadline.is_some() => match (kind, &self.session) {
                    (Deadline::TokenExpiry, Some((ctx, _))) => Step::Close(
                        4401,
                        reason(&AppError::Unauthenticated(MessageId::TokenExpired), ctx),
                    ),
                    _ => Step::Close(4408, "Connection initialisation timeout".to_owned()),
                },
                _ = pings.tick() => if awaiting_pong {
                    Step::Close(3008, "No pong to the last ping".to_owned())
                } else {
                    awaiting_pong = true;
                    Step::Send(vec![json!({ "type": "ping" })])
                },
                Some((id, response)) = self.operations.next(), if !self.operations.is_empty() => {
                    self.responded(id, response)
                }
            };
            if let Some((ctx, _)) = &self.session
                && matches!(deadline, Some((Deadline::Init, _)))
            {
                deadline = token_expiry(ctx).map(|timer| (Deadline::TokenExpiry, timer));
            }
            match step {
                Step::Nothing => {}
                Step::Send(messages) => {
                    let timeout = self.limits().ws_send_timeout;
                    if !Box::pin(send(&mut sink, messages, timeout)).await {
                        return;
                    }
                }
                Step::Close(code, reason) => {
                    Box::pin(close(&mut sink, code, &reason)).await;
                    return;
                }
            }
        }
    }

    /// Handles one message from the client.
    async fn received(&mut self, message: Message) -> Step {
        let text = match message {
            Message::Text(text) => text,
            // The library answers pings itself; a close ends the stream.
            Message::Ping(_) | Message::Pong(_) | Message::Close(_) => return Step::Nothing,
            Message::Binary(_) => return invalid("binary messages are not part of the protocol"),
        };
        let message: ClientMessage = match serde_json::from_str(&text) {
            Ok(message) => message,
            Err(e) => return invalid(&e.to_string()),
        };
        match message {
            ClientMessage::ConnectionInit { payload } => {
                if self.initialised {
                    return Step::Close(4429, "Too many initialisation requests".to_owned());
                }
                self.initialised = true;
                self.init(payload).await
            }
            ClientMessage::Ping {} => Step::Send(vec![json!({ "type": "pong" })]),
            ClientMessage::Pong {} => Step::Nothing,
            ClientMessage::Subscribe { id, payload } => self.subscribe(id, payload),
            ClientMessage::Complete { id } => {
                if let Some(handle) = self.running.remove(&id) {
                    handle.abort();
                }
                Step::Nothing
            }
        }
    }

    /// `connection_init`: the payload's entries are the request's headers.
    async fn init(&mut self, payload: Option<Value>) -> Step {
        let headers = match payload {
            None | Some(Value::Null) => HeaderMap::new(),
            Some(Value::Object(entries)) => {
                let mut headers = HeaderMap::new();
                for (name, value) in entries {
                    let (Ok(name), Some(Ok(value))) = (
                        HeaderName::try_from(name.as_str()),
                        value.as_str().map(HeaderValue::from_str),
                    ) else {
                        return invalid(&format!(
                            "connection_init payload entry `{name}` is not a header (a string)"
                        ));
                    };
                    headers.insert(name, value);
                }
                headers
            }
            Some(_) => return invalid("connection_init payload is not an object"),
        };
        let ctx = RequestContext::from_headers(&headers, self.state.keys());
        if !ctx.header_problems.is_empty() {
            let error = AppError::Validation(ctx.header_problems.clone());
            return Step::Close(4400, reason(&error, &ctx));
        }
        match service::resolve_viewer(self.state.db(), &ctx.credentials).await {
            Ok(viewer) => {
                self.session = Some((Arc::new(ctx), viewer));
                Step::Send(vec![json!({ "type": "connection_ack" })])
            }
            Err(error @ AppError::Unauthenticated(_)) => Step::Close(4401, reason(&error, &ctx)),
            Err(error) => Step::Close(1011, reason(&error, &ctx)),
        }
    }

    /// `subscribe`: starts an operation.
    fn subscribe(&mut self, id: String, payload: SubscribePayload) -> Step {
        let Some((ctx, viewer)) = &self.session else {
            return Step::Close(4401, "Unauthorized".to_owned());
        };
        if self.running.contains_key(&id) {
            return Step::Close(4409, format!("Subscriber for {id} already exists"));
        }
        let refuse = |error: AppError| {
            let errors: Vec<Value> = error::gql_errors(&error, ctx.lang)
                .into_iter()
                .map(|e| serde_json::to_value(e.into_server_error(Default::default())))
                .filter_map(Result::ok)
                .map(without_locations)
                .collect();
            Step::Send(vec![
                json!({ "id": id, "type": "error", "payload": errors }),
            ])
        };
        if self.running.len() >= self.limits().ws_max_subscriptions {
            return refuse(AppError::Validation(vec![
                FieldError::new("subscribe", MessageId::TooManySubscriptions)
                    .arg("max", self.limits().ws_max_subscriptions),
            ]));
        }
        let Some(mut request) = gql_http::operation(
            payload.query,
            payload.operation_name,
            payload.variables,
            payload.extensions,
        ) else {
            return refuse(AppError::invalid(
                "payload",
                MessageId::GraphqlRequestMalformed,
            ));
        };
        let mut live = None;
        if let Some(parsed) = self.executor.documents.parsed(&request.query) {
            let aliases = super::document::alias_count(&parsed.document);
            if aliases > self.limits().max_aliases {
                return refuse(AppError::Validation(vec![
                    FieldError::new("query", MessageId::TooManyAliases)
                        .arg("count", aliases)
                        .arg("max", self.limits().max_aliases),
                ]));
            }
            let selected =
                super::document::operation(&parsed.document, request.operation_name.as_deref());
            if let Some((_, operation)) = selected
                && operation.ty == OperationType::Subscription
            {
                let one_field = matches!(
                    operation.selection_set.node.items.as_slice(),
                    [item] if matches!(item.node, Selection::Field(_))
                );
                if !one_field {
                    return Step::Send(vec![json!({ "id": id, "type": "error", "payload": [{
                        "message": "A subscription selects exactly one top-level field",
                        "extensions": { "code": "BAD_USER_INPUT" } }] })]);
                }
                // One copy per text, shared by its subscriptions.
                live = Some(parsed.variant(as_queries));
            } else {
                request.set_parsed_query(ExecutableDocument::clone(&parsed.document));
                if request.variables.is_empty() {
                    let operation = request.operation_name.clone();
                    request = request.data(Revalidation { parsed, operation });
                }
            }
        }
        let responses = match live {
            Some(document) => self.live_operation(document, &request, ctx, viewer),
            None => {
                let request = request
                    .data(Loaders::new(&self.state, viewer))
                    .data(viewer.clone())
                    .data(ctx.clone())
                    .data(self.state.clone());
                self.executor.schema.execute_stream(request)
            }
        };
        let (responses, handle) = futures_util::stream::abortable(responses);
        let tagged = id.clone();
        let ended = id.clone();
        let operation: BoxStream<'static, _> = responses
            .map(move |response| (tagged.clone(), Some(response)))
            .chain(futures_util::stream::once(async move { (ended, None) }))
            .boxed();
        self.running.insert(id, handle);
        self.operations.push(operation);
        Step::Nothing
    }

    /// A subscription, run on [`LiveRoot`](super::subscription::LiveRoot) (see there why): its
    /// document as a query on that root, once to check it and open its watch, then once per
    /// update. A response is sent for the start only when it failed.
    fn live_operation(
        &self,
        document: Arc<ExecutableDocument>,
        request: &async_graphql::Request,
        ctx: &Arc<RequestContext>,
        viewer: &Viewer,
    ) -> BoxStream<'static, async_graphql::Response> {
        let schema = self
            .executor
            .live
            .get_or_init(|| live_schema(self.limits()))
            .clone();
        let (variables, operation_name) =
            (request.variables.clone(), request.operation_name.clone());
        let (viewer, ctx, state) = (viewer.clone(), ctx.clone(), self.state.clone());
        // Every run of a subscription has the same document, variables and schema: the full
        // rules run once, at the start, and their outcome holds for every update. The outcome
        // is the subscription's own (it depends on the variables); the document is shared.
        let parsed = Arc::new(Parsed::sharing(document));
        let run = Arc::new(move |phase: Phase| {
            let mut request = async_graphql::Request::new(String::new())
                .variables(variables.clone())
                .data(Revalidation {
                    parsed: parsed.clone(),
                    operation: operation_name.clone(),
                })
                .data(phase)
                .data(viewer.clone())
                .data(ctx.clone())
                .data(state.clone());
            request.operation_name.clone_from(&operation_name);
            request.set_parsed_query(ExecutableDocument::clone(&parsed.document));
            let schema = schema.clone();
            // Boxed: the executor's state exists only while an update runs.
            Box::pin(async move { schema.execute(request).await })
        });
        let slot = Arc::new(std::sync::Mutex::new(None));
        let start = run(Phase::Start(slot.clone()));
        futures_util::stream::once(start)
            .flat_map(move |started| {
                let watch = slot
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .take();
                match watch {
                    Some(watch) if started.errors.is_empty() => {
                        let run = run.clone();
                        watch
                            .into_stream()
                            .then(move |update| {
                                run(Phase::Update(std::sync::Mutex::new(Some(update))))
                            })
                            .boxed()
                    }
                    _ => futures_util::stream::once(async move { started }).boxed(),
                }
            })
            .boxed()
    }

    /// An operation answered (`Some`) or ended (`None`).
    fn responded(&mut self, id: String, response: Option<async_graphql::Response>) -> Step {
        let Some(mut response) = response else {
            // Ended by the client's `complete` (nothing more to say) or by itself.
            return if self.running.remove(&id).is_some() {
                Step::Send(vec![json!({ "id": id, "type": "complete" })])
            } else {
                Step::Nothing
            };
        };
        if !self.running.contains_key(&id) {
            return Step::Nothing;
        }
        for error in &mut response.errors {
            super::with_default_code(error);
            error.locations.retain(|pos| pos.line > 0 && pos.column > 0);
        }
        if !gql_http::executed(&response) {
            // Refused before it ran: one `error`, and the operation is over.
            self.running.remove(&id);
            let errors = serde_json::to_value(&response.errors).unwrap_or_default();
            return Step::Send(vec![
                json!({ "id": id, "type": "error", "payload": errors }),
            ]);
        }
        let payload = serde_json::to_value(&response).unwrap_or_default();
        Step::Send(vec![
            json!({ "id": id, "type": "next", "payload": payload }),
        ])
    }
}

/// `document` with its operations typed as queries: how a subscription runs on
/// [`LiveRoot`](super::subscription::LiveRoot).
fn as_queries(document: &ExecutableDocument) -> ExecutableDocument {
    let mut document = document.clone();
    match &mut document.operations {
        DocumentOperations::Single(operation) => operation.node.ty = OperationType::Query,
        DocumentOperations::Multiple(operations) => {
            for operation in operations.values_mut() {
                operation.node.ty = OperationType::Query;
            }
        }
    }
    document
}

/// Sends `messages`; whether the connection stays open. A client that does not take a message
/// within `timeout` is closed (1008).
async fn send(sink: &mut Sink, messages: Vec<Value>, timeout: Duration) -> bool {
    for message in messages {
        let text = Utf8Bytes::from(message.to_string());
        match tokio::time::timeout(timeout, sink.send(Message::Text(text))).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return false,
            Err(_) => {
                tracing::info!("closing a WebSocket client that does not read");
                metrics::counter!("graphql_ws_slow_consumers_closed_total").increment(1);
                close(sink, 1008, "The client did not read its messages in time").await;
                return false;
            }
        }
    }
    true
}

/// What the connection's one timer stands for.
#[derive(Debug, Clone, Copy)]
enum Deadline {
    /// `connection_init` must come before it (4408).
    Init,
    /// The session's token expires: a subscriber whose token has expired is no longer signed in,
    /// and may no longer see what only its user may see (4401, as an expired token over HTTP).
    TokenExpiry,
}

/// A timer for the moment the session's token expires, if it is signed in.
fn token_expiry(ctx: &RequestContext) -> Option<Pin<Box<tokio::time::Sleep>>> {
    let Credentials::Token(token) = &ctx.credentials else {
        return None;
    };
    let left = token
        .valid_until()
        .duration_since(std::time::SystemTime::now())
        .unwrap_or(Duration::ZERO);
    Some(Box::pin(tokio::time::sleep(left)))
}

/// Waits for the deadline and says which it was, or waits forever without one.
async fn elapsed(deadline: &mut Option<(Deadline, Pin<Box<tokio::time::Sleep>>)>) -> Deadline {
    match deadline {
        Some((kind, timer)) => {
            timer.await;
            *kind
        }
        None => std::future::pending().await,
    }
}

/// Closes with `code` and `reason`, waiting only briefly for a client that does not read.
async fn close<S>(sink: &mut S, code: u16, reason: &str)
where
    S: futures_util::Sink<Message> + Unpin,
{
    // A close frame's reason is at most 123 bytes.
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    let frame = CloseFrame {
        code,
        reason: Utf8Bytes::from(&reason[..end]),
    };
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, sink.send(Message::Close(Some(frame)))).await;
}

/// The protocol's answer to a message it does not know: 4400.
fn invalid(detail: &str) -> Step {
    Step::Close(4400, format!("Invalid message received: {detail}"))
}

/// The reason of a close caused by `error`, in the connection's language.
fn reason(error: &AppError, ctx: &RequestContext) -> String {
    error.messages(ctx.lang).last().cloned().unwrap_or_default()
}

/// A GraphQL error about the whole message, without a place in a document.
fn without_locations(mut error: Value) -> Value {
    if let Some(error) = error.as_object_mut() {
        error.remove("locations");
    }
    error
}
