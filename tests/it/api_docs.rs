//! The API's own documents: `/api/openapi.json`, the reference page `/api/docs` and GraphiQL at
//! `/graphql`, with their assets; and a real browser rendering both pages.

use std::path::{Path, PathBuf};
use std::time::Duration;

use http::{Method, StatusCode};
use insta::assert_json_snapshot;
use profile_api::profiles::rules;
use profile_api::rest::openapi::openapi;
use serde_json::{Value, json};

use crate::harness::TestApp;
use crate::rest_profile_read::{JOHN, app_with_john};

#[test]
fn openapi_document() {
    // The whole document, so that every change to the published API shows up in review; but
    // not the names of the time zone database, which change with its releases.
    assert_json_snapshot!("openapi", openapi(), {
        ".info.version" => "[version]",
        ".components.schemas.TimeZone.anyOf[1].enum" => "[the IANA zone names]",
    });
    let document = serde_json::to_value(openapi()).unwrap();
    let zones = document["components"]["schemas"]["TimeZone"]["anyOf"][1]["enum"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(zones.len() > 400, "{} zones", zones.len());
    for zone in zones {
        let zone = zone.as_str().unwrap_or_default();
        assert!(
            profile_api::context::RequestTimeZone::parse(zone).is_some(),
            "the document lists {zone}, which the server refuses"
        );
    }
}

/// The document's bounds are the server's: a limit changed in `profiles::rules` changes them.
#[test]
fn the_documents_bounds_are_the_rules() {
    let document = serde_json::to_value(openapi()).unwrap();
    let schemas = &document["components"]["schemas"];
    let profile = &schemas["LegacyProfile"]["properties"];
    assert_eq!(profile["bio"]["maxLength"], json!(rules::BIO_MAX));
    assert_eq!(profile["name"]["maxLength"], json!(rules::NAME_MAX));
    assert_eq!(
        profile["expertise"]["maxLength"],
        json!(rules::EXPERTISE_MAX)
    );
    assert_eq!(
        profile["interests"]["maxItems"],
        json!(rules::INTERESTS_MAX)
    );
    assert_eq!(
        profile["minutePriceInLiveStream"]["maximum"],
        json!(rules::PRICE_MAX)
    );
    let username = format!("{{{},{}}}", rules::USERNAME_MIN, rules::USERNAME_MAX);
    let username_pattern = profile["username"]["pattern"].as_str().unwrap();
    assert!(username_pattern.contains(&username), "{username_pattern}");

    // The patch states lengths in its descriptions only (the server counts them after trimming
    // and NFC normalisation), but the numbers are the same.
    let patch = &schemas["ProfilePatch"]["properties"];
    assert_eq!(patch["interests"]["maxItems"], json!(rules::INTERESTS_MAX));
    assert_eq!(
        patch["minutePriceInLiveStream"]["maximum"],
        json!(rules::PRICE_MAX)
    );
    for (field, number) in [
        ("name", rules::NAME_MAX),
        ("bio", rules::BIO_MAX),
        ("expertise", rules::EXPERTISE_MAX),
        ("interests", rules::INTEREST_MAX),
        ("instagram", rules::INSTAGRAM_HANDLE_MAX),
        ("facebook", rules::FACEBOOK_HANDLE_MAX),
    ] {
        let description = patch[field]["description"].as_str().unwrap();
        assert!(
            description.contains(&format!(" {number} ")),
            "{field}: {description}"
        );
        assert!(patch[field].get("maxLength").is_none(), "{field}");
    }
}

#[tokio::test]
async fn openapi_json_is_the_bare_document() {
    let app = TestApp::new().await;
    // The documents judge no request header: a bad zone is not a 400 here.
    let response = app
        .get("/api/openapi.json")
        .header("x-timezone", "Mars/Olympus")
        .send()
        .await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.header("content-type"), "application/json");
    let document = response.json();
    assert!(
        document["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")),
        "{}",
        document["openapi"]
    );
    assert!(document.get("isSuccess").is_none(), "not the envelope");
    assert_eq!(document, serde_json::to_value(openapi()).unwrap());
}

/// A document's errors are still the envelope, and unknown paths beside it are 404s.
#[tokio::test]
async fn around_the_documents_errors_stay_in_the_envelope() {
    let app = TestApp::new().await;
    for path in [
        "/api/docs/nope",
        "/api/docs/assets/nope.js",
        "/api/openapi.yaml",
        "/api/docs/",
    ] {
        let response = app.get(path).send().await;
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(
            response.stable_json(),
            json!({"isSuccess": false, "statusCode": 404, "data": null,
                   "errors": ["Resource not found"], "timestamp": "[timestamp]"}),
            "{path}"
        );
    }
    let response = app.request(Method::POST, "/api/docs").send().await;
    assert_eq!(response.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.json()["errors"], json!(["Method not allowed"]));
    assert_eq!(response.header("allow"), "GET,HEAD");
}

/// The examples and schemas of the document are what the server really sends.
#[tokio::test]
async fn the_document_tells_the_truth() {
    let app = app_with_john().await;
    let document = serde_json::to_value(openapi()).unwrap();
    let operation = &document["paths"]["/api/v1/users/profile/{id}"]["get"];

    // Keys of the envelope and of the profile, in the documented order.
    let response = app
        .get(&format!("/api/v1/users/profile/{JOHN}"))
        .send()
        .await;
    assert_eq!(response.status, StatusCode::OK);
    let body = response.json();
    let schemas = &document["components"]["schemas"];
    assert_eq!(keys(&body), property_names(&schemas["ProfileEnvelope"]));
    assert_eq!(
        keys(&body["data"]),
        property_names(&schemas["LegacyProfile"])
    );
    assert_eq!(
        keys(&body["data"]["profilePhoto"]),
        property_names(&schemas["LegacyPhoto"])
    );
    let example = &resolve(&document, &operation["responses"]["200"])["content"]["application/json"]
        ["example"];
    assert_eq!(keys(example), keys(&body));
    assert_eq!(keys(&example["data"]), keys(&body["data"]));
    for header in [
        "etag",
        "cache-control",
        "vary",
        "content-language",
        "x-request-id",
    ] {
        assert!(!response.header(header).is_empty(), "{header}");
    }

    // Error examples, byte for byte but the timestamp.
    let cases = [
        ("/api/v1/users/profile/123", None, "400", "id"),
        (
            "/api/v1/users/profile/507f1f77bcf86cd799439011",
            Some(("x-timezone", "Mars/Olympus")),
            "400",
            "header",
        ),
        (
            "/api/v1/users/profile/0000000000000000000000ff",
            None,
            "404",
            "notFound",
        ),
        (
            "/api/v1/users/profile/0000000000000000000000ff",
            Some(("authorization", "Bearer not.a.token")),
            "401",
            "expired",
        ),
    ];
    for (path, header, status, example) in cases {
        let mut request = app.get(path);
        if let Some((name, value)) = header {
            request = request.header(name, value);
        }
        let response = request.send().await;
        assert_eq!(response.status.as_str(), status, "{path}");
        let content =
            &resolve(&document, &operation["responses"][status])["content"]["application/json"];
        let body = response.stable_json();
        assert_eq!(keys(&body), property_names(&schemas["ErrorEnvelope"]));
        let mut documented = match content.get("examples") {
            Some(examples) => examples[example]["value"].clone(),
            None => content["example"].clone(),
        };
        documented["timestamp"] = json!("[timestamp]");
        if example == "expired" {
            // Another token problem than the example's: the same general message.
            assert_eq!(body["errors"][0], documented["errors"][0], "{path}");
        } else {
            assert_eq!(body, documented, "{path}");
        }
    }

    let response = app
        .request(Method::DELETE, &format!("/api/v1/users/profile/{JOHN}"))
        .send()
        .await;
    let documented = &resolve(&document, &operation["responses"]["405"])["content"]["application/json"]
        ["example"];
    assert_eq!(response.json()["errors"], documented["errors"]);
}

fn keys(value: &Value) -> Vec<String> {
    value
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

fn property_names(schema: &Value) -> Vec<String> {
    keys(&schema["properties"])
}

/// A response of the document, following a `$ref` into the components.
fn resolve<'a>(document: &'a Value, response: &'a Value) -> &'a Value {
    match response["$ref"].as_str() {
        Some(reference) => {
            let name = reference.rsplit('/').next().unwrap();
            &document["components"]["responses"][name]
        }
        None => response,
    }
}

/// The pages of the browser, each with what a browser sends for it.
const PAGES: [(&str, &str); 2] = [("/api/docs", "*/*"), ("/graphql", "text/html")];

#[tokio::test]
async fn pages_are_strict_and_serve_every_asset_they_reference() {
    let app = TestApp::new().await;
    for (page, accept) in PAGES {
        let response = app.get(page).header("accept", accept).send().await;
        assert_eq!(response.status, StatusCode::OK, "{page}");
        assert_eq!(
            response.header("content-type"),
            "text/html; charset=utf-8",
            "{page}"
        );
        let csp = response.header("content-security-policy");
        assert!(csp.contains("script-src 'self';"), "{page}: {csp}");
        assert!(csp.contains("default-src 'none'"), "{page}: {csp}");
        assert!(!csp.contains("unsafe-eval"), "{page}: {csp}");
        // No inline script: every <script> has a src.
        assert_eq!(
            response.text.matches("<script").count(),
            response.text.matches("<script src=").count(),
            "{page}"
        );

        let references = references(&response.text);
        assert!(references.len() >= 3, "{page}: {references:?}");
        for url in references {
            if url.starts_with("data:") {
                continue;
            }
            assert!(url.starts_with('/'), "{page} loads {url} from elsewhere");
            let asset = app.get(&url).send().await;
            assert_eq!(asset.status, StatusCode::OK, "{url}");
            let path = url.split('?').next().unwrap();
            let expected = match Path::new(path).extension().and_then(|e| e.to_str()) {
                Some("js") => "text/javascript; charset=utf-8",
                Some("css") => "text/css; charset=utf-8",
                Some("json") => "application/json",
                other => panic!("{url}: unexpected kind {other:?}"),
            };
            assert_eq!(asset.header("content-type"), expected, "{url}");
            assert!(!asset.text.is_empty(), "{url}");
            assert_eq!(
                asset.header("content-encoding"),
                "",
                "{url}: asked for nothing"
            );
            let gzipped = app.get(&url).header("accept-encoding", "gzip").send().await;
            assert_eq!(gzipped.header("content-encoding"), "gzip", "{url}");
            let mut unzipped = Vec::new();
            std::io::Read::read_to_end(
                &mut flate2::read::GzDecoder::new(gzipped.bytes.as_slice()),
                &mut unzipped,
            )
            .expect("gzip");
            assert_eq!(unzipped, asset.bytes, "{url}");
            if url.contains("?v=") {
                assert_eq!(
                    asset.header("cache-control"),
                    "public, max-age=31536000, immutable",
                    "{url}"
                );
            }
        }
    }
}

/// The values of the `src` and `href` attributes of `html`.
fn references(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for attribute in ["src=\"", "href=\""] {
        let mut rest = html;
        while let Some(start) = rest.find(attribute) {
            rest = &rest[start + attribute.len()..];
            let end = rest.find('"').expect("closing quote");
            found.push(rest[..end].to_owned());
            rest = &rest[end..];
        }
    }
    found
}

/// The introspection query GraphiQL 3 sends when it loads (graphql-js 16's
/// `getIntrospectionQuery()` with GraphiQL's options).
const GRAPHIQL_INTROSPECTION: &str = r#"
    query IntrospectionQuery {
      __schema {
        queryType { name }
        mutationType { name }
        subscriptionType { name }
        types { ...FullType }
        directives {
          name
          description
          locations
          args { ...InputValue }
        }
      }
    }

    fragment FullType on __Type {
      kind
      name
      description
      fields(includeDeprecated: true) {
        name
        description
        args { ...InputValue }
        type { ...TypeRef }
        isDeprecated
        deprecationReason
      }
      inputFields { ...InputValue }
      interfaces { ...TypeRef }
      enumValues(includeDeprecated: true) {
        name
        description
        isDeprecated
        deprecationReason
      }
      possibleTypes { ...TypeRef }
    }

    fragment InputValue on __InputValue {
      name
      description
      type { ...TypeRef }
      defaultValue
    }

    fragment TypeRef on __Type {
      kind
      name
      ofType { kind name ofType { kind name ofType { kind name ofType { kind name
        ofType { kind name ofType { kind name ofType { kind name ofType { kind name
        ofType { kind name } } } } } } } } }
    }
"#;

#[tokio::test]
async fn graphiql_introspection_passes_the_default_limits() {
    // TestApp runs with GraphqlLimits::default(), the production defaults. This query is 15
    // levels deep (`__schema > types > fields > args > type` and TypeRef's nine `ofType`), so a
    // depth limit under 15 breaks GraphiQL's schema loading; its complexity is under 300.
    let app = TestApp::new().await;
    let response = app.graphql(GRAPHIQL_INTROSPECTION, json!({})).send().await;
    assert_eq!(response.status, StatusCode::OK);
    let body = response.json();
    assert!(body.get("errors").is_none(), "{body}");
    let schema = &body["data"]["__schema"];
    assert_eq!(schema["queryType"]["name"], "Query");
    let types = schema["types"].as_array().unwrap();
    assert!(types.iter().any(|t| t["name"] == "User"), "{schema}");
}

// ---------------------------------------------------------------------------------------------
// A real browser

/// Headless Chromium, if the machine has it (`CHROMIUM` names another binary).
fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CHROMIUM") {
        return Some(PathBuf::from(path)).filter(|p| p.is_file());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| {
            ["chromium", "chromium-browser", "google-chrome"].map(|name| dir.join(name))
        })
        .find(|candidate| candidate.is_file())
}

/// What Chromium made of `url`: the DOM after scripts ran (`--dump-dom`) or a screenshot
/// (`--screenshot=FILE`), and what it logged (console messages, CSP violations).
async fn run_chromium(binary: &Path, url: &str, output: &str) -> (String, String) {
    let profile = tempfile::tempdir().unwrap();
    let mut command = tokio::process::Command::new(binary);
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--log-level=0",
            "--window-size=1280,900",
            "--virtual-time-budget=8000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(output)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let result = tokio::time::timeout(Duration::from_secs(90), command.output())
        .await
        .unwrap_or_else(|_| panic!("chromium did not finish on {url}"))
        .unwrap();
    assert!(
        result.status.success(),
        "chromium failed on {url}: {result:?}"
    );
    (
        String::from_utf8_lossy(&result.stdout).into_owned(),
        String::from_utf8_lossy(&result.stderr).into_owned(),
    )
}

/// Both pages render in a real browser, offline, under their CSP, with no script error: GraphiQL
/// with its editor and the schema it introspected, Swagger UI with the operations. Screenshots
/// are left in `target/tmp/screenshots/` to look at.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_render_in_a_browser() {
    let Some(binary) = chromium() else {
        eprintln!(
            "note: pages_render_in_a_browser skipped: no chromium on PATH \
             (apt-get install chromium, or set CHROMIUM)"
        );
        return;
    };
    let app = TestApp::new().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(axum::serve(listener, app.router.clone()).into_future());

    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let pages: [(&str, &str, &[&str]); 2] = [
        (
            "/graphql",
            "graphiql",
            // The editor, and the documentation explorer filled from the introspection.
            &[
                "graphiql-container",
                "CodeMirror",
                "Root Types",
                // The root types' names come only from the introspection.
                "Mutation",
            ],
        ),
        (
            "/api/docs",
            "api-docs",
            &[
                "profile-api REST API",
                "/api/v1/users/profile/{id}",
                "/api/v1/users/profile/username/{username}",
                "/api/v1/users/profile",
            ],
        ),
    ];
    for (path, name, expected) in pages {
        let url = format!("{base}{path}");
        let (dom, log) = run_chromium(&binary, &url, "--dump-dom").await;
        for text in expected {
            assert!(dom.contains(text), "{path}: no {text:?} in the DOM:\n{dom}");
        }
        assert!(!dom.contains("Failed to load API definition"), "{path}");
        let console: Vec<&str> = log.lines().filter(|l| l.contains(":CONSOLE")).collect();
        for problem in ["Content Security Policy", "Uncaught", "Failed to load"] {
            assert!(
                !console.iter().any(|line| line.contains(problem)),
                "{path}: {problem}:\n{console:#?}"
            );
        }

        let shot = shots.join(format!("{name}.png"));
        let _ = std::fs::remove_file(&shot);
        run_chromium(&binary, &url, &format!("--screenshot={}", shot.display())).await;
        let png = std::fs::read(&shot).unwrap();
        assert!(png.starts_with(b"\x89PNG"), "{}", shot.display());
        // A blank 1280x900 page compresses to a few KiB; a rendered one is tens of KiB.
        assert!(
            png.len() > 20_000,
            "{} is {} bytes",
            shot.display(),
            png.len()
        );
    }
    server.abort();
}

/// What the browser test's script does on the GraphiQL page: through the page's own fetcher
/// (the one the editor uses, with its WebSocket URL), it subscribes to a profile and one id that
/// is no user's, and writes what came into the page once a profile arrives. While it waits, a
/// request to `/live-test/wait` is always in flight, so that the browser's virtual time does not
/// run out before the socket has spoken.
const LIVE_TEST_SCRIPT: &str = r#""use strict";
(async () => {
  const out = document.createElement("pre");
  out.id = "live-result";
  document.body.appendChild(out);
  let done = false;
  (async () => {
    for (let i = 0; i < 60 && !done; i++) await fetch("/live-test/wait");
  })();
  try {
    const query = 'subscription Live { profileChanged(ids: ["USER", "MISSING"]) { id bio } }';
    // What GraphiQL's editor passes: the parsed document, by which the fetcher tells a
    // subscription from a query.
    const documentAST = { kind: "Document", definitions: [{ kind: "OperationDefinition",
      operation: "subscription", name: { kind: "Name", value: "Live" } }] };
    const events = [];
    const result = await window.graphiqlFetcher(
      { query, operationName: "Live" },
      { documentAST, headers: { "Accept-Language": "tr" } },
    );
    // The error for the id that is no user's and a change, in whichever order they come (a
    // change racing the subscription's first read may come first).
    let sawError = false, sawChange = false;
    for await (const event of result) {
      events.push(event);
      if (event.errors) sawError = true;
      const changed = event.data && event.data.profileChanged;
      if (changed && String(changed.bio).startsWith("from REST")) sawChange = true;
      if (sawError && sawChange) break;
    }
    out.textContent = "LIVE " + JSON.stringify(events);
  } catch (error) {
    out.textContent = "LIVE-FAILED " + error;
  }
  done = true;
})();
"#;

/// GraphiQL runs subscriptions (SPEC §8): in headless Chromium, under the page's own
/// Content-Security-Policy, its fetcher subscribes over the WebSocket and receives a change made
/// through REST on another instance.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphiql_runs_subscriptions_in_a_browser() {
    use axum::response::IntoResponse as _;
    let Some(binary) = chromium() else {
        eprintln!("note: graphiql_runs_subscriptions_in_a_browser skipped: no chromium on PATH");
        return;
    };
    let app = TestApp::new().await;
    let other = app.another_instance(crate::harness::test_config()).await;
    app.insert(crate::harness::Fixtures::default().user(crate::harness::user(1)))
        .await;
    let user = crate::harness::uid(1);
    let token = app.token(&user);

    // The GraphiQL page as served, with the test's script added.
    let page = app
        .get("/graphql")
        .header("accept", "text/html")
        .send()
        .await;
    let csp = page.header("content-security-policy").to_owned();
    let html = page
        .text
        .replace("</body>", "<script src=\"/live-test.js\"></script></body>");
    let script = LIVE_TEST_SCRIPT
        .replace("USER", &user)
        .replace("MISSING", "00000000000000000000dead");
    let router = app.router.clone().merge(
        axum::Router::new()
            .route(
                "/live-test",
                axum::routing::get(move || async move {
                    (
                        [("content-security-policy", csp)],
                        axum::response::Html(html),
                    )
                        .into_response()
                }),
            )
            .route(
                "/live-test.js",
                axum::routing::get(move || async move {
                    ([("content-type", "text/javascript")], script).into_response()
                }),
            )
            .route(
                "/live-test/wait",
                axum::routing::get(|| async {
                    tokio::time::sleep(Duration::from_millis(250)).await;
                    "waited"
                }),
            ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/live-test", listener.local_addr().unwrap());
    let server = tokio::spawn(axum::serve(listener, router).into_future());

    // Changes through REST on the other instance, until the browser is done.
    let writer = tokio::spawn(async move {
        for n in 0.. {
            tokio::time::sleep(Duration::from_millis(300)).await;
            crate::cache::patch(
                &other,
                &token,
                json!({ "bio": format!("from REST on b {n}") }),
            )
            .await;
        }
    });
    let (dom, log) = run_chromium(&binary, &url, "--dump-dom").await;
    writer.abort();
    server.abort();

    let console: Vec<&str> = log.lines().filter(|l| l.contains(":CONSOLE")).collect();
    let result = dom
        .split("<pre id=\"live-result\">")
        .nth(1)
        .and_then(|rest| rest.split("</pre>").next())
        .unwrap_or_else(|| panic!("the script wrote nothing:\n{console:#?}\n{dom}"));
    let events: Value = serde_json::from_str(
        &result
            .strip_prefix("LIVE ")
            .unwrap_or_else(|| panic!("{result}\n{console:#?}"))
            .replace("&quot;", "\"")
            .replace("&amp;", "&"),
    )
    .unwrap();
    let events = events.as_array().unwrap();
    // The id that is no user's, in the connection's language; and the change.
    let missing = events
        .iter()
        .find(|event| !event["errors"].is_null())
        .unwrap_or_else(|| panic!("no error for the missing id: {events:?}"));
    assert_eq!(missing["data"], json!({ "profileChanged": null }));
    assert_eq!(missing["errors"][0]["extensions"]["code"], "NOT_FOUND");
    assert_eq!(
        missing["errors"][0]["extensions"]["userId"],
        "00000000000000000000dead"
    );
    let last = events
        .iter()
        .rev()
        .find(|event| !event["data"]["profileChanged"].is_null())
        .map(|event| &event["data"]["profileChanged"])
        .unwrap_or_else(|| panic!("no change: {events:?}"));
    assert_eq!(last["id"], user);
    assert!(
        last["bio"]
            .as_str()
            .is_some_and(|bio| bio.starts_with("from REST on b")),
        "{last}"
    );
    assert!(
        !console
            .iter()
            .any(|line| line.contains("Content Security Policy")),
        "{console:#?}"
    );
}
