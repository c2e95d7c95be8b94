//! Identity (SPEC §5): bearer JWTs, verified with HS256 (`JWT_SECRET`) and optionally RS256
//! (`JWT_PUBLIC_KEY_FILE`), and the viewer they stand for.
//!
//! Verification is split in two steps so that the SPEC's order of errors holds: the token is
//! checked without the database when the request's headers are read ([`TokenKeys::verify`]),
//! and its user is looked up only when the request is otherwise well-formed
//! (`service::resolve_viewer`).

use std::path::Path;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use jsonwebtoken::errors::ErrorKind as JwtErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::i18n::MessageId;
use crate::profiles::ObjectId;

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Viewer {
    /// No token.
    #[default]
    Anonymous,
    /// A verified token of an existing, active user.
    User {
        /// The user's id.
        id: ObjectId,
        /// Whether the token carries `role: "admin"`.
        admin: bool,
    },
}

impl Viewer {
    /// The viewer's user id, `None` when anonymous.
    pub fn user_id(&self) -> Option<&ObjectId> {
        match self {
            Viewer::Anonymous => None,
            Viewer::User { id, .. } => Some(id),
        }
    }

    /// Whether the viewer is an administrator.
    pub fn is_admin(&self) -> bool {
        matches!(self, Viewer::User { admin: true, .. })
    }
}

/// The claims of our tokens.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Issue time, seconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// `"admin"` for administrators.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

/// A token whose signature and claims are valid; its user is not yet looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedToken {
    /// The user the token is for.
    pub user_id: ObjectId,
    /// Whether it grants the admin role.
    pub admin: bool,
    /// Its `exp`, seconds since the epoch: valid up to and including that second.
    pub expires_at: i64,
}

impl VerifiedToken {
    /// Whether the token has expired at `now` (seconds since the epoch): `jsonwebtoken`'s own
    /// rule with no leeway.
    pub fn expired_at(&self, now: i64) -> bool {
        self.expires_at < now
    }

    /// The first instant at which [`Self::expired_at`] holds: the start of the second after `exp`.
    pub fn valid_until(&self) -> std::time::SystemTime {
        let first_expired = u64::try_from(self.expires_at.saturating_add(1)).unwrap_or(0);
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(first_expired)
    }
}

/// The credential a request presented, checked without the database.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Credentials {
    /// No `Authorization` header.
    #[default]
    None,
    /// A valid token.
    Token(VerifiedToken),
    /// A token (or header) that is not valid, and why.
    Invalid(MessageId),
}

/// How many verified tokens are remembered: about the signed-in clients of a busy minute, a
/// few megabytes at most.
const VERIFIED_TOKENS_MAX: usize = 4096;

/// The keys tokens are verified (and, for HS256, minted) with.
///
/// Verification (two base64 decodes, two JSON parses and an HMAC or RSA check) was about a tenth
/// of a signed-in read, and a client sends the same token with every request: so the outcome of
/// a successful verification is remembered, keyed by the whole token. The same bytes verify the
/// same way every time, so the one thing that can change is time: the expiry is checked again on
/// every use, exactly as `jsonwebtoken` checks it. Failures are not remembered (a client cannot
/// fill the memory with garbage that way, and they are rare).
#[derive(Clone)]
pub struct TokenKeys {
    hs256: (EncodingKey, DecodingKey),
    rs256: Option<DecodingKey>,
    verified: Arc<quick_cache::sync::Cache<Box<str>, VerifiedToken>>,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenKeys")
            .field("rs256", &self.rs256.is_some())
            .finish_non_exhaustive()
    }
}

impl TokenKeys {
    /// Keys from an HS256 secret and an optional RS256 public key (PEM).
    pub fn new(secret: &SecretString, rs256_public_pem: Option<&[u8]>) -> anyhow::Result<Self> {
        let secret = secret.expose_secret().as_bytes();
        anyhow::ensure!(
            secret.len() >= 32,
            "JWT_SECRET must be at least 32 bytes long"
        );
        let rs256 = rs256_public_pem
            .map(DecodingKey::from_rsa_pem)
            .transpose()
            .map_err(|e| {
                anyhow::anyhow!("JWT_PUBLIC_KEY_FILE is not an RSA public key in PEM: {e}")
            })?;
        Ok(Self {
            hs256: (
                EncodingKey::from_secret(secret)?,
                DecodingKey::from_secret(secret)?,
            ),
            rs256,
            verified: Arc::new(quick_cache::sync::Cache::new(VERIFIED_TOKENS_MAX)),
        })
    }

    /// Loads the RS256 key file named by the configuration, if any.
    pub fn read_public_key(path: Option<&Path>) -> anyhow::Result<Option<Vec<u8>>> {
        path.map(|p| {
            std::fs::read(p).map_err(|e| {
                anyhow::anyhow!("cannot read JWT_PUBLIC_KEY_FILE {}: {e}", p.display())
            })
        })
        .transpose()
    }

    /// Mints an HS256 token for `user` valid for `ttl`.
    pub fn mint(
        &self,
        user: &ObjectId,
        admin: bool,
        ttl: std::time::Duration,
    ) -> anyhow::Result<String> {
        let now = Utc::now().timestamp();
        let claims = Claims {
            sub: user.to_string(),
            exp: now.saturating_add(i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX)),
            iat: Some(now),
            role: admin.then(|| "admin".to_owned()),
        };
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &self.hs256.0,
        )?)
    }

    /// Checks an `Authorization` header value.
    pub fn check_header(&self, header: Option<&[u8]>) -> Credentials {
        let Some(value) = header else {
            return Credentials::None;
        };
        let token = std::str::from_utf8(value).ok().and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        });
        match token {
            None | Some("") => Credentials::Invalid(MessageId::TokenMalformed),
            Some(token) => match self.verify(token) {
                Ok(verified) => Credentials::Token(verified),
                Err(reason) => Credentials::Invalid(reason),
            },
        }
    }

    /// Verifies a token's algorithm, signature, expiry and claims (from memory when the same
    /// token verified before and has not expired since).
    pub fn verify(&self, token: &str) -> Result<VerifiedToken, MessageId> {
        if let Some(remembered) = self.verified.get(token) {
            return if remembered.expired_at(Utc::now().timestamp()) {
                self.verified.remove(token);
                Err(MessageId::TokenExpired)
            } else {
                Ok(remembered)
            };
        }
        let verified = self.verify_signed(token)?;
        self.verified.insert(token.into(), verified.clone());
        Ok(verified)
    }

    /// Verifies a token from scratch.
    fn verify_signed(&self, token: &str) -> Result<VerifiedToken, MessageId> {
        let algorithm = match header_algorithm(token)?.as_str() {
            "HS256" => Algorithm::HS256,
            "RS256" if self.rs256.is_some() => Algorithm::RS256,
            _ => return Err(MessageId::TokenAlgorithm),
        };
        let key = match algorithm {
            Algorithm::RS256 => self.rs256.as_ref().ok_or(MessageId::TokenAlgorithm)?,
            _ => &self.hs256.1,
        };
        let mut validation = Validation::new(algorithm);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        let data = jsonwebtoken::decode::<Claims>(token, key, &validation).map_err(|e| match e
            .kind()
        {
            JwtErrorKind::ExpiredSignature => MessageId::TokenExpired,
            JwtErrorKind::InvalidSignature => MessageId::TokenSignature,
            JwtErrorKind::InvalidAlgorithm | JwtErrorKind::InvalidAlgorithmName => {
                MessageId::TokenAlgorithm
            }
            JwtErrorKind::MissingRequiredClaim(_)
            | JwtErrorKind::InvalidClaimFormat(_)
            | JwtErrorKind::Json(_) => MessageId::TokenClaims,
            _ => MessageId::TokenMalformed,
        })?;
        let claims = data.claims;
        let user_id = ObjectId::parse(&claims.sub).ok_or(MessageId::TokenUnknownUser)?;
        Ok(VerifiedToken {
            user_id,
            admin: claims.role.as_deref() == Some("admin"),
            expires_at: claims.exp,
        })
    }
}

/// The `alg` of a compact JWS, read before any verification so that `none` and other
/// algorithms are named as such rather than as a malformed token.
fn header_algorithm(token: &str) -> Result<String, MessageId> {
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(MessageId::TokenMalformed);
    };
    #[derive(Deserialize)]
    struct JoseHeader {
        alg: String,
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| MessageId::TokenMalformed)?;
    let header: JoseHeader =
        serde_json::from_slice(&bytes).map_err(|_| MessageId::TokenMalformed)?;
    Ok(header.alg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> TokenKeys {
        TokenKeys::new(&SecretString::from("x".repeat(32)), None).expect("keys")
    }

    fn id() -> ObjectId {
        ObjectId::parse("507f1f77bcf86cd799439011").expect("valid")
    }

    fn unsigned(header: &str, claims: &str) -> String {
        format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(claims)
        )
    }

    #[test]
    fn round_trip() {
        let keys = keys();
        let token = keys
            .mint(&id(), true, std::time::Duration::from_secs(60))
            .expect("mint");
        let verified = keys.verify(&token).expect("valid");
        assert_eq!((&verified.user_id, verified.admin), (&id(), true));
        let in_a_minute = Utc::now().timestamp() + 60;
        assert!((in_a_minute - 1..=in_a_minute).contains(&verified.expires_at));
        let until = verified
            .valid_until()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after the epoch");
        assert_eq!(until.as_secs(), verified.expires_at as u64 + 1);
        assert!(!verified.expired_at(verified.expires_at));
        assert!(verified.expired_at(verified.expires_at + 1));
    }

    #[test]
    fn remembered_tokens_still_expire() {
        let keys = keys();
        let token = keys
            .mint(&id(), false, std::time::Duration::from_secs(60))
            .expect("mint");
        let first = keys.verify(&token);
        assert!(first.is_ok());
        assert!(keys.verified.get(token.as_str()).is_some());
        assert_eq!(
            keys.verify(&token),
            first,
            "the remembered outcome is the same"
        );

        // The same token once its expiry has passed: refused, and forgotten.
        let remembered = keys.verified.get(token.as_str()).expect("remembered");
        keys.verified.insert(
            token.as_str().into(),
            VerifiedToken {
                expires_at: Utc::now().timestamp() - 1,
                ..remembered
            },
        );
        assert_eq!(keys.verify(&token), Err(MessageId::TokenExpired));
        assert!(keys.verified.get(token.as_str()).is_none());

        // A forged token is never remembered.
        let other = TokenKeys::new(&SecretString::from("y".repeat(32)), None).expect("keys");
        let forged = other
            .mint(&id(), false, std::time::Duration::from_secs(60))
            .expect("mint");
        assert_eq!(keys.verify(&forged), Err(MessageId::TokenSignature));
        assert!(keys.verified.get(forged.as_str()).is_none());
    }

    #[test]
    fn refusals() {
        let keys = keys();
        let exp = Utc::now().timestamp() + 600;
        let claims = format!(r#"{{"sub":"507f1f77bcf86cd799439011","exp":{exp}}}"#);
        assert_eq!(
            keys.verify(&unsigned(r#"{"alg":"none","typ":"JWT"}"#, &claims)),
            Err(MessageId::TokenAlgorithm)
        );
        assert_eq!(
            keys.verify(&unsigned(r#"{"alg":"HS512"}"#, &claims)),
            Err(MessageId::TokenAlgorithm)
        );
        assert_eq!(
            keys.verify(&unsigned(r#"{"alg":"RS256"}"#, &claims)),
            Err(MessageId::TokenAlgorithm)
        );
        assert_eq!(keys.verify("abc"), Err(MessageId::TokenMalformed));
        assert_eq!(keys.verify("a.b.c"), Err(MessageId::TokenMalformed));

        let other = TokenKeys::new(&SecretString::from("y".repeat(32)), None).expect("keys");
        let forged = other
            .mint(&id(), false, std::time::Duration::from_secs(60))
            .expect("mint");
        assert_eq!(keys.verify(&forged), Err(MessageId::TokenSignature));

        let expired = Claims {
            sub: id().to_string(),
            exp: Utc::now().timestamp() - 5,
            iat: None,
            role: None,
        };
        let expired =
            jsonwebtoken::encode(&Header::default(), &expired, &keys.hs256.0).expect("encode");
        assert_eq!(keys.verify(&expired), Err(MessageId::TokenExpired));

        let no_sub = jsonwebtoken::encode(
            &Header::default(),
            &serde_json::json!({ "exp": exp }),
            &keys.hs256.0,
        )
        .expect("encode");
        assert_eq!(keys.verify(&no_sub), Err(MessageId::TokenClaims));
    }

    #[test]
    fn header_forms() {
        let keys = keys();
        assert_eq!(keys.check_header(None), Credentials::None);
        assert_eq!(
            keys.check_header(Some(b"Basic abc")),
            Credentials::Invalid(MessageId::TokenMalformed)
        );
        assert_eq!(
            keys.check_header(Some(b"Bearer ")),
            Credentials::Invalid(MessageId::TokenMalformed)
        );
        let token = keys
            .mint(&id(), false, std::time::Duration::from_secs(60))
            .expect("mint");
        assert!(matches!(
            keys.check_header(Some(format!("bearer {token}").as_bytes())),
            Credentials::Token(_)
        ));
    }
}
