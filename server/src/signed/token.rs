//! Upload tokens: a JWT (HS256, `jsonwebtoken`) that authorizes uploads into one folder and
//! below until it expires. The HMAC key is derived from the app's signing key (so a token MAC
//! can never pass for a URL signature) and named by `kid`, so key rotation works as for URLs.
//!
//! The header's `alg` is read and checked before anything else: `none` or any other algorithm
//! than HS256 is refused as `TOKEN_ALGORITHM`, never tried.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::error::{ErrorCode, UploadError};
use crate::protocol::UploadToken;
use crate::signing::{Signer, SigningKey};

/// The audience of every upload token.
pub const AUDIENCE: &str = "uplift-upload";
const KEY_LABEL: &str = "uplift-token-v1";

/// The claims of an upload token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The folder the token may write to (and below).
    pub dir: String,
    pub exp: i64,
    pub iat: i64,
    /// The token's id, also the upload id of what it writes.
    pub jti: String,
    pub aud: String,
}

fn key_bytes(key: &SigningKey) -> Vec<u8> {
    key.derive(KEY_LABEL)
}

pub(crate) fn create(
    signer: &Signer,
    dir: &str,
    now: i64,
    expires_in: i64,
) -> Result<UploadToken, UploadError> {
    let key = &signer.keys()[0];
    let claims = Claims {
        dir: dir.to_string(),
        exp: now + expires_in,
        iat: now,
        jti: super::new_id(),
        aud: AUDIENCE.into(),
    };
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(key.id().to_string());
    let token = jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(&key_bytes(key)))
        .map_err(UploadError::internal)?;
    Ok(UploadToken {
        token,
        dir: dir.to_string(),
        expires_at: claims.exp,
    })
}

fn refuse(code: ErrorCode, message: &str) -> UploadError {
    UploadError::new(code, message.to_string())
}

/// Verifies a token (without the `Bearer ` prefix); its claims.
pub(crate) fn verify(signer: &Signer, token: &str) -> Result<Claims, UploadError> {
    let invalid = || refuse(ErrorCode::TokenInvalid, "the upload token is invalid");
    #[derive(Deserialize)]
    struct RawHeader {
        alg: Option<String>,
        kid: Option<String>,
    }
    let head = token.split('.').next().ok_or_else(invalid)?;
    let head = URL_SAFE_NO_PAD.decode(head).map_err(|_| invalid())?;
    let head: RawHeader = serde_json::from_slice(&head).map_err(|_| invalid())?;
    if head.alg.as_deref() != Some("HS256") {
        return Err(refuse(
            ErrorCode::TokenAlgorithm,
            "the upload token must be signed with HS256",
        )
        .with_data(serde_json::json!({ "alg": head.alg })));
    }
    let key = match head.kid.as_deref() {
        Some(kid) => signer.keys().iter().find(|k| k.id() == kid),
        None => signer.keys().first(),
    }
    .ok_or_else(invalid)?;
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 0;
    validation.set_audience(&[AUDIENCE]);
    validation.set_required_spec_claims(&["exp", "aud"]);
    match jsonwebtoken::decode::<Claims>(
        token,
        &DecodingKey::from_secret(&key_bytes(key)),
        &validation,
    ) {
        Ok(data) => Ok(data.claims),
        Err(e) => Err(match e.kind() {
            ErrorKind::ExpiredSignature => {
                refuse(ErrorCode::TokenExpired, "the upload token has expired")
            }
            ErrorKind::InvalidAlgorithm | ErrorKind::MissingAlgorithm => refuse(
                ErrorCode::TokenAlgorithm,
                "the upload token must be signed with HS256",
            ),
            _ => invalid(),
        }),
    }
}

/// Whether a token for `dir` may write into `folder`: the folder itself or one below it.
pub(crate) fn check_scope(claims: &Claims, folder: &str) -> Result<(), UploadError> {
    let inside = folder == claims.dir
        || folder
            .strip_prefix(claims.dir.as_str())
            .is_some_and(|rest| rest.starts_with('/'));
    if inside {
        Ok(())
    } else {
        Err(refuse(
            ErrorCode::TokenScope,
            "the upload token is for another folder",
        )
        .with_data(serde_json::json!({ "dir": claims.dir })))
    }
}

/// The token of an `Authorization: Bearer …` header; `UNAUTHORIZED` without one.
pub(crate) fn bearer(req: &actix_web::HttpRequest) -> Option<&str> {
    let value = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer(b: u8) -> Signer {
        Signer::new(vec![SigningKey::new("k1", vec![b; 32]).unwrap()]).unwrap()
    }

    fn now() -> i64 {
        crate::signed::now_secs()
    }

    #[test]
    fn a_token_verifies_and_scopes_to_its_folder() {
        let s = signer(1);
        let t = create(&s, "a/b", now(), 60).unwrap();
        let c = verify(&s, &t.token).unwrap();
        assert_eq!(c.dir, "a/b");
        assert!(check_scope(&c, "a/b").is_ok());
        assert!(check_scope(&c, "a/b/c").is_ok());
        for other in ["a", "a/bc", "x/a/b"] {
            assert_eq!(
                check_scope(&c, other).unwrap_err().code(),
                ErrorCode::TokenScope
            );
        }
    }

    #[test]
    fn forged_expired_and_unsigned_tokens_are_refused_distinctly() {
        let s = signer(1);
        let t = create(&s, "a", now(), 60).unwrap().token;
        assert_eq!(
            verify(&signer(2), &t).unwrap_err().code(),
            ErrorCode::TokenInvalid
        );
        let expired = create(&s, "a", now() - 100, 10).unwrap().token;
        assert_eq!(
            verify(&s, &expired).unwrap_err().code(),
            ErrorCode::TokenExpired
        );
        let parts: Vec<&str> = t.split('.').collect();
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
            parts[1]
        );
        assert_eq!(
            verify(&s, &none).unwrap_err().code(),
            ErrorCode::TokenAlgorithm
        );
        assert_eq!(
            verify(&s, "junk").unwrap_err().code(),
            ErrorCode::TokenInvalid
        );
        let mut tampered = t.clone();
        tampered.insert(parts[0].len() + 3, 'x');
        assert_eq!(
            verify(&s, &tampered).unwrap_err().code(),
            ErrorCode::TokenInvalid
        );
    }
}
