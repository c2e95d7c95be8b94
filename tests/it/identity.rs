//! Identity (SPEC §5): every way a bearer token can be refused, RS256, and the token command's
//! tokens.

use std::process::Command;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{Method, StatusCode};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

use crate::harness::{Fixtures, TestApp, test_config, uid, user};

const SECRET: &str = "test-secret-test-secret-test-secret-0123";

async fn app() -> TestApp {
    let app = TestApp::new().await;
    let mut gone = user(9);
    gone.deactivated_at = Some(chrono::Utc::now());
    app.insert(Fixtures::default().user(user(1)).user(gone))
        .await;
    app
}

fn sign(header: Header, claims: serde_json::Value, key: &EncodingKey) -> String {
    jsonwebtoken::encode(&header, &claims, key).expect("sign")
}

fn hs256(claims: serde_json::Value) -> String {
    sign(
        Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(SECRET.as_bytes()).expect("key"),
    )
}

fn in_an_hour() -> i64 {
    chrono::Utc::now().timestamp() + 3600
}

#[tokio::test]
async fn every_bad_token_is_a_401_on_reads_and_writes() {
    let app = app().await;
    let exp = in_an_hour();
    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(json!({"sub": uid(1), "exp": exp}).to_string())
    );
    let hs512 = sign(
        Header::new(Algorithm::HS512),
        json!({"sub": uid(1), "exp": exp}),
        &EncodingKey::from_secret(SECRET.as_bytes()).expect("key"),
    );
    let forged = sign(
        Header::new(Algorithm::HS256),
        json!({"sub": uid(1), "exp": exp}),
        &EncodingKey::from_secret(b"another-secret-another-secret-000000").expect("key"),
    );
    let cases = [
        (
            "Bearer not.a.jwt",
            "The Authorization header must be \"Bearer\" followed by a JSON Web Token",
        ),
        (
            "Basic dXNlcjpwYXNz",
            "The Authorization header must be \"Bearer\" followed by a JSON Web Token",
        ),
        (
            &format!("Bearer {unsigned}"),
            "The token is signed with an algorithm this server does not accept",
        ),
        (
            &format!("Bearer {hs512}"),
            "The token is signed with an algorithm this server does not accept",
        ),
        (
            &format!("Bearer {forged}"),
            "The token's signature is not valid",
        ),
        (
            &format!(
                "Bearer {}",
                hs256(json!({"sub": uid(1), "exp": chrono::Utc::now().timestamp() - 10}))
            ),
            "The token has expired",
        ),
        (
            &format!("Bearer {}", hs256(json!({"sub": uid(1)}))),
            "The token must carry a user id in \"sub\" and an expiry in \"exp\"",
        ),
        (
            &format!("Bearer {}", hs256(json!({"sub": uid(404), "exp": exp}))),
            "The token's user does not exist or is deactivated",
        ),
        (
            &format!("Bearer {}", hs256(json!({"sub": uid(9), "exp": exp}))),
            "The token's user does not exist or is deactivated",
        ),
        (
            &format!("Bearer {}", hs256(json!({"sub": "not-an-id", "exp": exp}))),
            "The token's user does not exist or is deactivated",
        ),
    ];
    for (authorization, reason) in cases {
        let read = app
            .get(&format!("/api/v1/users/profile/{}", uid(1)))
            .header("authorization", authorization)
            .send()
            .await;
        assert_eq!(read.status, StatusCode::UNAUTHORIZED, "{authorization}");
        assert_eq!(
            read.json()["errors"],
            json!(["Authentication required", reason]),
            "{authorization}"
        );
        let write = app
            .request(Method::PATCH, "/api/v1/users/profile")
            .header("authorization", authorization)
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await;
        assert_eq!(write.status, StatusCode::UNAUTHORIZED, "{authorization}");
        let graphql = app
            .graphql("{ viewer { id } }", json!({}))
            .header("authorization", authorization)
            .send()
            .await;
        assert_eq!(graphql.status, StatusCode::UNAUTHORIZED, "{authorization}");
        assert_eq!(
            graphql.json()["errors"][0]["extensions"]["code"],
            "UNAUTHENTICATED"
        );
        assert_eq!(graphql.json()["errors"][0]["message"], reason);
    }
}

#[tokio::test]
async fn a_valid_token_names_the_viewer() {
    let app = app().await;
    let token = hs256(json!({"sub": uid(1).to_uppercase(), "exp": in_an_hour()}));
    let body = app
        .graphql("{ viewer { id } }", json!({}))
        .bearer(&token)
        .send()
        .await
        .json();
    assert_eq!(body["data"]["viewer"]["id"], uid(1));
}

#[tokio::test]
async fn rs256_tokens_are_accepted_with_a_public_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    let private = dir.path().join("private.pem");
    let public = dir.path().join("public.pem");
    let generated = Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
        ])
        .arg(&private)
        .output()
        .is_ok_and(|o| o.status.success())
        && Command::new("openssl")
            .args(["rsa", "-pubout", "-in"])
            .arg(&private)
            .arg("-out")
            .arg(&public)
            .output()
            .map(|o| o.status)
            .is_ok_and(|s| s.success());
    if !generated {
        eprintln!("skipped: openssl is not available to make an RSA key pair");
        return;
    }
    let mut config = test_config();
    config.jwt_public_key_file = Some(public);
    let app = TestApp::with_config(config).await;
    app.insert(Fixtures::default().user(user(1))).await;
    let key =
        EncodingKey::from_rsa_pem(&std::fs::read(&private).expect("read key")).expect("rsa key");
    let token = sign(
        Header::new(Algorithm::RS256),
        json!({"sub": uid(1), "exp": in_an_hour(), "role": "admin"}),
        &key,
    );
    let body = app
        .graphql("{ viewer { id } }", json!({}))
        .bearer(&token)
        .send()
        .await
        .json();
    assert_eq!(body["data"]["viewer"]["id"], uid(1), "{body}");
    // HS256 still works beside it.
    let body = app
        .graphql("{ viewer { id } }", json!({}))
        .bearer(&app.token(&uid(1)))
        .send()
        .await
        .json();
    assert_eq!(body["data"]["viewer"]["id"], uid(1));
}

#[test]
fn the_token_command_mints_tokens_the_server_accepts() {
    let binary = env!("CARGO_BIN_EXE_profile-api");
    let output = Command::new(binary)
        .args([
            "token",
            "--user",
            "507f1f77bcf86cd799439011",
            "--role",
            "admin",
            "--ttl",
            "2h",
        ])
        .env("JWT_SECRET", SECRET)
        .output()
        .expect("run profile-api token");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let token = String::from_utf8(output.stdout).expect("utf-8");
    let keys = profile_api::identity::TokenKeys::new(&secrecy::SecretString::from(SECRET), None)
        .expect("keys");
    let verified = keys.verify(token.trim()).expect("valid token");
    assert_eq!(verified.user_id.as_str(), "507f1f77bcf86cd799439011");
    assert!(verified.admin);
    let refused = Command::new(binary)
        .args(["token", "--user", "nope"])
        .env("JWT_SECRET", SECRET)
        .output()
        .expect("run profile-api token");
    assert!(!refused.status.success());
}
