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

/// A string holding U+0000 cannot be stored in PostgreSQL text: the document is skipped by its
/// line with the reason, and the rest of its batch lands (an escaped backslash before `u0000`
/// is ordinary text and imports).
#[tokio::test]
async fn a_nul_character_skips_its_line_and_nothing_else() {
    let app = TestApp::new().await;
    let dir = tempfile::tempdir().expect("temp dir");
    write(
        dir.path(),
        "users.jsonl",
        &[
            r#"{"_id":{"$oid":"64a000000000000000000001"},"name":"Alice","surname":"Ak","username":"alice"}"#,
            r#"{"_id":{"$oid":"64a000000000000000000002"},"name":"Bob","surname":"Bü","username":"bob_b","bio":"a\u0000b"}"#,
            r#"{"_id":{"$oid":"64a000000000000000000003"},"name":"Carol","surname":"Cé","username":"carol","bio":"C:\\u0000"}"#,
        ],
    );
    let report = profile_api::import::run(&app.db, dir.path(), 100)
        .await
        .expect("import runs");
    let t = report.file("users.jsonl");
    assert_eq!((t.inserted, t.skipped), (2, 1));
    let skips: Vec<String> = report
        .skips
        .iter()
        .map(|p| format!("{}:{}: {}", p.file, p.line, p.reason))
        .collect();
    assert_eq!(
        skips,
        ["users.jsonl:2: a string holds the character U+0000 (NUL), which PostgreSQL cannot store"]
    );
    let carol = app
        .get(&format!("/api/v1/users/profile/{CAROL}"))
        .send()
        .await
        .json();
    assert_eq!(carol["data"]["bio"], r"C:\u0000");
}

/// A follow line of `follower` → `followee` (the last two hex digits of their ids).
fn follow_line(follower: u8, followee: u8, status: &str) -> String {
    format!(
        r#"{{"follower":{{"$oid":"64a0000000000000000000{follower:02x}"}},"followee":{{"$oid":"64a0000000000000000000{followee:02x}"}},"status":"{status}","createdAt":{{"$date":"2024-03-01T00:00:00Z"}}}}"#
    )
}

/// Follows are checked when they are merged into the table at the end of their file, not when
/// each batch is written, yet they are refused exactly as a batch written on its own refuses
/// them, with the same words and precedence: a missing user before a block before a later line
/// of the same batch, a pair twice in a batch superseded, a pair in two batches overwritten. The
/// same report whether `follows` is empty (the first load, which rebuilds the table's indexes)
/// or not, and counters that agree with the table either way.
#[tokio::test]
async fn follows_are_refused_at_the_merge_as_a_batch_refuses_them() {
    for follows_before in [false, true] {
        let app = TestApp::new().await;
        let first = tempfile::tempdir().expect("temp dir");
        let users: Vec<String> = (1..=4)
            .map(|n| {
                format!(
                    r#"{{"_id":{{"$oid":"64a0000000000000000000{n:02x}"}},"name":"N","surname":"S","username":"user{n}"}}"#
                )
            })
            .collect();
        let users: Vec<&str> = users.iter().map(String::as_str).collect();
        write(first.path(), "users.jsonl", &users);
        // Bob has blocked Alice.
        write(
            first.path(),
            "blocks.jsonl",
            &[
                r#"{"blocker":{"$oid":"64a000000000000000000002"},"blocked":{"$oid":"64a000000000000000000001"}}"#,
            ],
        );
        if follows_before {
            write(
                first.path(),
                "follows.jsonl",
                &[&follow_line(4, 3, "accepted")],
            );
        }
        profile_api::import::run(&app.db, first.path(), 100)
            .await
            .expect("first import");

        let second = tempfile::tempdir().expect("temp dir");
        write(
            second.path(),
            "follows.jsonl",
            &[
                // batch 1
                &follow_line(3, 1, "accepted"),
                &follow_line(3, 0xff, "accepted"),
                &follow_line(3, 1, "pending"),
                // batch 2
                &follow_line(3, 0xff, "accepted"),
                &follow_line(3, 0xff, "pending"),
                &follow_line(1, 2, "accepted"),
                // batch 3
                &follow_line(3, 1, "accepted"),
                &follow_line(0xfe, 3, "accepted"),
            ],
        );
        let report = profile_api::import::run(&app.db, second.path(), 3)
            .await
            .expect("second import");
        let skips: Vec<String> = report
            .skips
            .iter()
            .map(|p| format!("{}:{}: {}", p.file, p.line, p.reason))
            .collect();
        assert_eq!(
            skips,
            [
                "follows.jsonl:1: superseded by the same record on line 3",
                "follows.jsonl:2: 64a0000000000000000000ff is not a user",
                "follows.jsonl:4: 64a0000000000000000000ff is not a user",
                "follows.jsonl:5: 64a0000000000000000000ff is not a user",
                "follows.jsonl:6: one of the two users has blocked the other",
                "follows.jsonl:8: 64a0000000000000000000fe is not a user",
            ],
            "follows before: {follows_before}"
        );
        let t = report.file("follows.jsonl");
        // Carol → Alice: line 3 inserts it, line 7 (another batch) overwrites it.
        assert_eq!((t.inserted, t.updated, t.skipped), (1, 1, 6));

        let alice = app
            .get(&format!("/api/v1/users/profile/{ALICE}"))
            .send()
            .await
            .json();
        assert_eq!(
            alice["data"]["followersCount"], 1,
            "follows before: {follows_before}"
        );
        let carol = app
            .get(&format!("/api/v1/users/profile/{CAROL}"))
            .send()
            .await
            .json();
        assert_eq!(carol["data"]["followingCount"], 1);
        assert_eq!(carol["data"]["followersCount"], u8::from(follows_before));
        let recount = profile_api::profiles::follows::recount(&app.db)
            .await
            .expect("recount");
        assert!(recount.is_empty(), "counters drifted: {recount:?}");
    }
}

/// An export large enough to interrupt: users, media, follows (some pending, some bad lines, a
/// few pairs twice) and blocks, every date given so two imports write identical rows.
fn large_export(dir: &Path, users: u64, follows: u64) {
    let user = |n: u64| format!("65a0b0c0{n:016x}");
    let mut lines = Vec::new();
    for n in 0..users {
        lines.push(format!(
            r#"{{"_id":{{"$oid":"{}"}},"name":"Name{n}","surname":"Smith","username":"user_{n}","profilePhoto":{{"$oid":"65a0ffff{n:016x}"}},"isPrivate":{}}}"#,
            user(n),
            n % 10 == 0
        ));
    }
    std::fs::write(dir.join("users.jsonl"), lines.join("\n") + "\n").expect("users");
    let media: Vec<String> = (0..users)
        .step_by(3)
        .map(|n| {
            format!(
                r#"{{"_id":{{"$oid":"65a0ffff{n:016x}"}},"owner":{{"$oid":"{}"}},"url":"https://cdn/{n}.jpg","type":"image"}}"#,
                user(n)
            )
        })
        .collect();
    std::fs::write(dir.join("media.jsonl"), media.join("\n") + "\n").expect("media");
    let mut random = crate::harness::Lcg(7);
    let mut lines = Vec::new();
    for n in 0..follows {
        let a = random.next(users);
        let b = random.next(users);
        let status = if n % 7 == 0 { "pending" } else { "accepted" };
        if n % 997 == 0 {
            lines.push("not a document".to_owned());
        }
        lines.push(format!(
            r#"{{"follower":{{"$oid":"{}"}},"followee":{{"$oid":"{}"}},"status":"{status}","createdAt":{{"$date":{{"$numberLong":"{}"}}}}}}"#,
            user(a),
            user(b),
            1_704_164_645_678 + n
        ));
    }
    std::fs::write(dir.join("follows.jsonl"), lines.join("\n") + "\n").expect("follows");
    let blocks: Vec<String> = (0..20)
        .map(|n| {
            format!(
                r#"{{"blocker":{{"$oid":"{}"}},"blocked":{{"$oid":"{}"}},"createdAt":{{"$date":"2024-05-01T00:00:00Z"}}}}"#,
                user(n),
                user(n + 1)
            )
        })
        .collect();
    std::fs::write(dir.join("blocks.jsonl"), blocks.join("\n") + "\n").expect("blocks");
}

/// Every row of the imported tables and the counters, as one digest per table.
async fn digests(url: &secrecy::SecretString) -> Vec<String> {
    #[derive(diesel::QueryableByName)]
    struct Digest {
        #[diesel(sql_type = diesel::sql_types::Text)]
        digest: String,
    }
    let mut conn = crate::harness::connect(url).await;
    let mut found = Vec::new();
    for (table, order) in [
        ("users", "id"),
        ("media", "id"),
        ("follows", "follower_id, followee_id"),
        ("blocks", "blocker_id, blocked_id"),
        ("follow_counters", "user_id"),
    ] {
        let sql = format!(
            "SELECT '{table} ' || count(*) || ' ' || coalesce(md5(string_agg(t::text, '|' ORDER BY {order})), '') \
               AS digest FROM {table} t"
        );
        let row: Digest = diesel_async::RunQueryDsl::get_result(diesel::sql_query(sql), &mut conn)
            .await
            .expect("digest");
        found.push(row.digest);
    }
    found
}

/// The report's count table (a line per file), without the timing line.
fn tally_lines(stdout: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stdout)
        .lines()
        .skip(1)
        .take_while(|line| !line.is_empty())
        .map(str::to_owned)
        .collect()
}

/// How far the import of follows.jsonl has committed, in bytes (0 before its first batch).
async fn follows_committed(conn: &mut diesel_async::AsyncPgConnection) -> i64 {
    crate::harness::scalar(
        conn,
        "SELECT coalesce(max(byte_offset) FILTER (WHERE NOT done), -1) AS value \
           FROM import_checkpoints WHERE pass = 'follows'",
    )
    .await
}

/// `profile-api import DIR --batch-size 500` (with `--resume` when `resume`), JSON logs.
fn import_command(
    url: &secrecy::SecretString,
    dir: &Path,
    resume: bool,
) -> tokio::process::Command {
    let mut command = profile_api(url);
    command
        .arg("import")
        .arg(dir)
        .args(["--batch-size", "500"])
        .env("LOG_FORMAT", "json");
    if resume {
        command.arg("--resume");
    }
    command
}

/// Starts a new import of `dir` into `url`'s database and stops it with Ctrl-C (SIGINT) once part
/// of follows.jsonl is committed; returns what it printed on the way out.
async fn interrupt_during_the_follows(
    url: &secrecy::SecretString,
    dir: &Path,
    conn: &mut diesel_async::AsyncPgConnection,
) -> std::process::Output {
    let child = import_command(url, dir, false)
        .spawn()
        .expect("start the import");
    crate::harness::eventually("the import to commit part of follows.jsonl", async || {
        follows_committed(conn).await > 0
    })
    .await;
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id().expect("pid")).expect("pid"));
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).expect("SIGINT");
    child.wait_with_output().await.expect("the import ends")
}

/// Ctrl-C stops an import after its current batch and says how to resume; a resumed import
/// killed outright (SIGKILL) resumes again; the end result is exactly what an uninterrupted
/// import writes: the same rows, the same counters (and recount finds nothing to repair), and
/// the same report counts.
#[tokio::test]
async fn an_interrupted_and_killed_import_resumes_to_exactly_an_uninterrupted_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    large_export(dir.path(), 3000, 60_000);
    let import =
        |url: &secrecy::SecretString, resume: bool| import_command(url, dir.path(), resume);

    let interrupted = TestDatabase::new().await;
    let url = interrupted.url();
    let mut conn = crate::harness::connect(&url).await;
    let stopped = interrupt_during_the_follows(&url, dir.path(), &mut conn).await;
    let said = String::from_utf8_lossy(&stopped.stdout);
    assert_eq!(stopped.status.code(), Some(130), "{said}");
    assert!(said.starts_with("Import interrupted"), "{said}");
    assert!(
        said.contains(&format!(
            "To continue:\n  profile-api import {} --resume\n",
            dir.path().display()
        )),
        "{said}"
    );
    let stopped_at = follows_committed(&mut conn).await;
    assert!(stopped_at > 0, "the stop left no checkpoint behind");

    let mut child = import(&url, true).spawn().expect("resume the import");
    crate::harness::eventually("the resumed import to commit more", async || {
        follows_committed(&mut conn).await > stopped_at
    })
    .await;
    child.start_kill().expect("SIGKILL");
    child.wait().await.expect("the killed import ends");

    let resumed = import(&url, true).output().await.expect("resume again");
    let report = String::from_utf8_lossy(&resumed.stdout);
    assert!(resumed.status.success(), "{report}");
    assert!(report.starts_with("Import finished"), "{report}");
    // Only what was left is read again.
    let log = String::from_utf8_lossy(&resumed.stderr);
    let follows_read = log
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .map(|event| event.get("fields").cloned().unwrap_or(event))
        .find(|fields| fields["message"] == "file imported" && fields["pass"] == "follows")
        .and_then(|fields| fields["documents"].as_u64())
        .unwrap_or_else(|| panic!("no log line for follows.jsonl in {log}"));
    assert!(follows_read < 60_000, "{follows_read} documents read again");

    let whole = TestDatabase::new().await;
    let uninterrupted = import(&whole.url(), false)
        .output()
        .await
        .expect("import at once");
    assert!(uninterrupted.status.success());
    assert_eq!(
        tally_lines(&resumed.stdout),
        tally_lines(&uninterrupted.stdout)
    );
    assert_eq!(digests(&url).await, digests(&whole.url()).await);
    let drift = crate::harness::scalar(
        &mut conn,
        "SELECT count(*) AS value FROM follow_counters c \
          WHERE followers_count <> (SELECT count(*) FROM follows WHERE followee_id = c.user_id AND status = 'accepted') \
             OR following_count <> (SELECT count(*) FROM follows WHERE follower_id = c.user_id AND status = 'accepted')",
    )
    .await;
    assert_eq!(drift, 0, "counters disagree with the follows table");
}

/// The staging table of follows is unlogged, so PostgreSQL empties it when it recovers from a
/// crash, while the checkpoints say its rows were staged. A resume then reads follows.jsonl
/// again from its start, and the result is still exactly that of an uninterrupted import.
#[tokio::test]
async fn a_resume_after_the_staged_follows_are_lost_reads_the_follows_again() {
    let dir = tempfile::tempdir().expect("temp dir");
    large_export(dir.path(), 2000, 40_000);
    let import =
        |url: &secrecy::SecretString, resume: bool| import_command(url, dir.path(), resume);

    let interrupted = TestDatabase::new().await;
    let url = interrupted.url();
    let mut conn = crate::harness::connect(&url).await;
    let stopped = interrupt_during_the_follows(&url, dir.path(), &mut conn).await;
    assert_eq!(stopped.status.code(), Some(130));
    assert!(follows_committed(&mut conn).await > 0);
    // What crash recovery does to an unlogged table.
    diesel_async::RunQueryDsl::execute(diesel::sql_query("TRUNCATE import_follows"), &mut conn)
        .await
        .expect("empty the staging");

    let resumed = import(&url, true).output().await.expect("resume");
    assert!(
        resumed.status.success(),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    let whole = TestDatabase::new().await;
    let uninterrupted = import(&whole.url(), false)
        .output()
        .await
        .expect("import at once");
    assert!(uninterrupted.status.success());
    assert_eq!(
        tally_lines(&resumed.stdout),
        tally_lines(&uninterrupted.stdout)
    );
    assert_eq!(digests(&url).await, digests(&whole.url()).await);
}
