//! `profile-api import`: both Extended JSON forms, bad lines, idempotence, counters.

use std::path::Path;

use http::StatusCode;
use serde_json::json;

use crate::harness::{TestApp, TestDatabase, profile_api};

fn write(dir: &Path, file: &str, lines: &[&str]) {
    std::fs::write(dir.join(file), lines.join("\n") + "\n").expect("write fixture file");
}

const ALICE: &str = "64a000000000000000000001";
const BOB: &str = "64a000000000000000000002";
const CAROL: &str = "64a000000000000000000003";

/// A small legacy export: relaxed JSON for users and follows, canonical for media and blocks,
/// with one bad line of each kind.
fn legacy_export(dir: &Path) {
    write(
        dir,
        "users.jsonl",
        &[
            // relaxed
            r#"{"_id":{"$oid":"64a000000000000000000001"},"name":"Alice","surname":"Ak","username":"Alice","availabilityStatus":"busy","profilePhoto":{"$oid":"64b000000000000000000001"},"interests":["music","art"],"expertise":"painter","birthDate":{"$date":"1990-01-15T00:00:00Z"},"minutePriceInLiveStream":12,"bio":"hi","instagram":"@alice.art","isPrivate":false,"createdAt":{"$date":"2024-01-02T03:04:05.678Z"},"updatedAt":{"$date":"2024-02-02T03:04:05.678Z"}}"#,
            // canonical
            r#"{"_id":{"$oid":"64a000000000000000000002"},"name":"Bob","surname":"Bü","username":"bob_b","minutePriceInLiveStream":{"$numberInt":"7"},"birthDate":{"$date":{"$numberLong":"631152000000"}},"isPrivate":true,"deactivatedAt":null,"createdAt":{"$date":{"$numberLong":"1704164645678"}}}"#,
            // minimal: defaults from the ObjectId
            r#"{"_id":{"$oid":"64a000000000000000000003"},"name":"Carol","surname":"Cé","username":"carol","x":"not a valid x handle!"}"#,
            "",
            r#"{"_id":{"$oid":"64a000000000000000000004"},"name":"","surname":"X","username":"nameless"}"#,
            r#"{"_id":{"$oid":"64a000000000000000000005"},"name":"Dup","surname":"X","username":"ALICE"}"#,
            "this is not json",
        ],
    );
    write(
        dir,
        "media.jsonl",
        &[
            r#"{"_id":{"$oid":"64b000000000000000000001"},"owner":{"$oid":"64a000000000000000000001"},"url":"https://cdn/a.jpg","type":"image"}"#,
            r#"{"_id":{"$oid":"64b000000000000000000002"},"owner":{"$oid":"64a0000000000000000000ff"},"url":"https://cdn/x.jpg","type":"image"}"#,
        ],
    );
    write(
        dir,
        "follows.jsonl",
        &[
            r#"{"follower":{"$oid":"64a000000000000000000002"},"followee":{"$oid":"64a000000000000000000001"},"status":"accepted","createdAt":{"$date":"2024-03-01T00:00:00Z"}}"#,
            r#"{"follower":{"$oid":"64a000000000000000000003"},"followee":{"$oid":"64a000000000000000000001"},"status":"accepted"}"#,
            r#"{"follower":{"$oid":"64a000000000000000000001"},"followee":{"$oid":"64a000000000000000000002"},"status":"pending"}"#,
            r#"{"follower":{"$oid":"64a000000000000000000001"},"followee":{"$oid":"64a000000000000000000001"},"status":"accepted"}"#,
            r#"{"follower":{"$oid":"64a000000000000000000001"},"followee":{"$oid":"64a0000000000000000000ff"},"status":"accepted"}"#,
        ],
    );
    write(
        dir,
        "blocks.jsonl",
        &[
            r#"{"blocker":{"$oid":"64a000000000000000000003"},"blocked":{"$oid":"64a000000000000000000002"},"createdAt":{"$date":{"$numberLong":"1704164645678"}}}"#,
            r#"{"blocker":{"$oid":"64a000000000000000000003"}}"#,
        ],
    );
}

#[tokio::test]
async fn imports_both_json_forms_and_reports_every_bad_line() {
    let app = TestApp::new().await;
    let dir = tempfile::tempdir().expect("temp dir");
    legacy_export(dir.path());
    let report = profile_api::import::run(&app.db, dir.path(), 2)
        .await
        .expect("import runs");

    let tally = |file: &str| {
        let t = report.file(file);
        (t.inserted, t.updated, t.skipped, t.warnings)
    };
    assert_eq!(tally("users.jsonl"), (3, 0, 3, 1), "{:#?}", report.skips);
    assert_eq!(tally("media.jsonl"), (1, 0, 1, 0));
    assert_eq!(tally("follows.jsonl"), (3, 0, 2, 0));
    assert_eq!(tally("blocks.jsonl"), (1, 0, 1, 0));
    let skips: Vec<String> = report
        .skips
        .iter()
        .map(|p| format!("{}:{}: {}", p.file, p.line, p.reason))
        .collect();
    assert_eq!(
        skips,
        [
            "users.jsonl:5: name cannot be null or empty",
            "users.jsonl:6: username is already taken by another user (usernames are unique ignoring case)",
            "users.jsonl:7: line is not valid JSON: expected ident at line 1 column 2",
            "media.jsonl:2: owner 64a0000000000000000000ff is not a user",
            "follows.jsonl:4: follower and followee are the same user",
            "follows.jsonl:5: 64a0000000000000000000ff is not a user",
            "blocks.jsonl:2: blocked is missing",
        ]
    );
    assert_eq!(report.warnings.len(), 1);
    assert_eq!(report.warnings[0].line, 3);
    assert!(
        report.warnings[0]
            .reason
            .starts_with("x must be an X username"),
        "{:?}",
        report.warnings
    );

    let alice = app
        .get(&format!("/api/v1/users/profile/{ALICE}"))
        .send()
        .await
        .json();
    assert_eq!(
        alice["data"]["profilePhoto"],
        json!({"_id": "64b000000000000000000001", "url": "https://cdn/a.jpg", "type": "image"})
    );
    assert_eq!(alice["data"]["instagram"], "alice.art");
    assert_eq!(alice["data"]["availabilityStatus"], "busy");
    // Carol follows Alice but blocked Bob; Bob's follow of Alice stays; Alice's pending request to
    // Bob does not count.
    assert_eq!(alice["data"]["followersCount"], 2);
    assert_eq!(alice["data"]["followingCount"], 0);

    let bob = app
        .graphql(
            "query($id: ID!) { user(id: $id) { birthDate minutePriceInLiveStream createdAt updatedAt isPrivate } }",
            json!({ "id": BOB }),
        )
        .bearer(&app.token(BOB))
        .send()
        .await
        .json();
    assert_eq!(
        bob["data"]["user"],
        json!({
            "birthDate": "1990-01-01",
            "minutePriceInLiveStream": 7,
            "createdAt": "2024-01-02T03:04:05.678Z",
            "updatedAt": "2024-01-02T03:04:05.678Z",
            "isPrivate": true
        })
    );
    let carol = app
        .graphql(
            "query($id: ID!) { user(id: $id) { availabilityStatus x createdAt } }",
            json!({ "id": CAROL }),
        )
        .send()
        .await
        .json();
    assert_eq!(
        carol["data"]["user"],
        json!({
            "availabilityStatus": "offline",
            "x": null,
            "createdAt": "2023-07-01T10:29:20.000Z"
        })
    );
    let carol_sees_bob = app
        .get(&format!("/api/v1/users/profile/{BOB}"))
        .bearer(&app.token(CAROL))
        .send()
        .await;
    assert_eq!(carol_sees_bob.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn importing_twice_updates_instead_of_duplicating() {
    let app = TestApp::new().await;
    let dir = tempfile::tempdir().expect("temp dir");
    legacy_export(dir.path());
    profile_api::import::run(&app.db, dir.path(), 1000)
        .await
        .expect("first import");
    let before = app
        .get(&format!("/api/v1/users/profile/{ALICE}"))
        .send()
        .await
        .json();
    let again = profile_api::import::run(&app.db, dir.path(), 1000)
        .await
        .expect("second import");
    let t = again.file("users.jsonl");
    assert_eq!((t.inserted, t.updated), (0, 3));
    let f = again.file("follows.jsonl");
    assert_eq!((f.inserted, f.updated), (0, 3));
    let after = app
        .get(&format!("/api/v1/users/profile/{ALICE}"))
        .send()
        .await
        .json();
    assert_eq!(before["data"], after["data"]);
    let recount = profile_api::profiles::follows::recount(&app.db)
        .await
        .expect("recount");
    assert!(recount.is_empty(), "counters drifted: {recount:?}");
}

#[tokio::test]
async fn an_empty_or_missing_directory_is_an_error() {
    let app = TestApp::new().await;
    let dir = tempfile::tempdir().expect("temp dir");
    assert!(
        profile_api::import::run(&app.db, dir.path(), 10)
            .await
            .is_err()
    );
    assert!(
        profile_api::import::run(&app.db, &dir.path().join("nope"), 10)
            .await
            .is_err()
    );
}

/// `import --strict` (the binary): a bad line makes the exit status non-zero, and the report
/// says which file and line, and why; without `--strict` the same import exits 0.
#[tokio::test]
async fn strict_import_fails_on_a_bad_line_and_says_where() {
    let database = TestDatabase::new().await;
    let dir = tempfile::tempdir().expect("temp dir");
    write(
        dir.path(),
        "users.jsonl",
        &[
            r#"{"_id":{"$oid":"64a000000000000000000001"},"name":"Alice","surname":"Ak","username":"alice"}"#,
            r#"{"_id":{"$oid":"64a000000000000000000002"},"name":"","surname":"Bü","username":"bob_b"}"#,
        ],
    );
    let import = |strict: bool| {
        let mut command = profile_api(&database.url());
        command.arg("import").arg(dir.path());
        if strict {
            command.arg("--strict");
        }
        command.output()
    };
    let strict = import(true).await.expect("run import --strict");
    let report = String::from_utf8_lossy(&strict.stdout);
    assert_eq!(strict.status.code(), Some(2), "{report}");
    assert!(
        report.contains("Skipped:\n  users.jsonl:2: name cannot be null or empty\n"),
        "{report}"
    );
    let lenient = import(false).await.expect("run import");
    assert!(lenient.status.success());
}
