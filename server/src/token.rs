//! Upload tokens: a JWT (`jsonwebtoken`) that authorizes uploads into one folder and below
//! until it expires. By default HS256 with a key derived from the app's signing key (so a token
//! MAC can never pass for a URL signature), named by `kid` so key rotation works as for URLs;
//! or EdDSA with an Ed25519 key pair ([`crate::UpliftBuilder::token_ed25519`]), for verifiers
//! that should not hold a secret.
//!
//! The header's `alg` is read and checked before anything else: `none` or any other algorithm
//! than the configured one is refused as `TOKEN_ALGORITHM`, never tried.

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
    /// What it may do besides uploading: `delete`, `list`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scope: Vec<String>,
}

/// A token's right to delete objects in its folder.
pub(crate) const DELETE: &str = "delete";
/// A token's right to list its folder.
pub(crate) const LIST: &str = "list";

/// Refuses a token that lacks `right` (`delete`, `list`).
pub(crate) fn check_right(claims: &Claims, right: &str) -> Result<(), UploadError> {
    if claims.scope.iter().any(|s| s == right) {
        Ok(())
    } else {
        Err(UploadError::new(
            ErrorCode::TokenScope,
            format!("the token does not allow `{right}`"),
        )
        .with_data(serde_json::json!({ "needs": right })))
    }
}

fn key_bytes(key: &SigningKey) -> Vec<u8> {
    key.derive(KEY_LABEL)
}

/// How tokens are signed and verified.
#[derive(Clone, Default)]
pub enum TokenKey {
    /// HS256 with keys derived from the signing keys.
    #[default]
    Hs256,
    /// EdDSA (Ed25519).
    Ed25519 {
        encoding: EncodingKey,
        decoding: DecodingKey,
    },
}

impl TokenKey {
    /// An Ed25519 pair: the private key as PKCS#8 DER, the public key's 32 bytes. Checked by
    /// signing and verifying a probe, so a mismatched pair fails at start, not per request.
    pub fn ed25519(private_pkcs8_der: &[u8], public_key: &[u8; 32]) -> Result<TokenKey, String> {
        let key = TokenKey::Ed25519 {
            encoding: EncodingKey::from_ed_der(private_pkcs8_der),
            decoding: DecodingKey::from_ed_der(public_key),
        };
        let signer = Signer::new(vec![SigningKey::new("probe", vec![0; 32]).expect("valid")])
            .expect("one key");
        let probe = create(&signer, &key, "probe", 0, 60, Vec::new())
            .map_err(|e| format!("the Ed25519 private key is unusable: {e}"))?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.validate_exp = false;
        validation.set_audience(&[AUDIENCE]);
        let TokenKey::Ed25519 { decoding, .. } = &key else {
            unreachable!()
        };
        jsonwebtoken::decode::<Claims>(&probe.token, decoding, &validation)
            .map_err(|e| format!("the Ed25519 public key does not match the private key: {e}"))?;
        Ok(key)
    }

    fn alg(&self) -> &'static str {
        match self {
            TokenKey::Hs256 => "HS256",
            TokenKey::Ed25519 { .. } => "EdDSA",
        }
    }
}

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.alg())
    }
}

pub(crate) fn create(
    signer: &Signer,
    token_key: &TokenKey,
    dir: &str,
    now: i64,
    expires_in: i64,
    scope: Vec<String>,
) -> Result<UploadToken, UploadError> {
    let key = &signer.keys()[0];
    let claims = Claims {
        dir: dir.to_string(),
        exp: now + expires_in,
        iat: now,
        jti: new_id(),
        aud: AUDIENCE.into(),
        scope,
    };
    let token = match token_key {
        TokenKey::Hs256 => {
            let mut header = Header::new(Algorithm::HS256);
            header.kid = Some(key.id().to_string());
            jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(&key_bytes(key)))
        }
        TokenKey::Ed25519 { encoding, .. } => {
            jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), &claims, encoding)
        }
    }
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
pub(crate) fn verify(
    signer: &Signer,
    token_key: &TokenKey,
    token: &str,
) -> Result<Claims, UploadError> {
    let invalid = || refuse(ErrorCode::TokenInvalid, "the upload token is invalid");
    #[derive(Deserialize)]
    struct RawHeader {
        alg: Option<String>,
        kid: Option<String>,
    }
    let head = token.split('.').next().ok_or_else(invalid)?;
    let head = URL_SAFE_NO_PAD.decode(head).map_err(|_| invalid())?;
    let head: RawHeader = serde_json::from_slice(&head).map_err(|_| invalid())?;
    let wrong_alg = || {
        refuse(
            ErrorCode::TokenAlgorithm,
            &format!("the upload token must be signed with {}", token_key.alg()),
        )
    };
    if head.alg.as_deref() != Some(token_key.alg()) {
        return Err(wrong_alg().with_data(serde_json::json!({ "alg": head.alg })));
    }
    let (algorithm, decoding) = match token_key {
        TokenKey::Hs256 => {
            let key = match head.kid.as_deref() {
                Some(kid) => signer.keys().iter().find(|k| k.id() == kid),
                None => signer.keys().first(),
            }
            .ok_or_else(invalid)?;
            (Algorithm::HS256, DecodingKey::from_secret(&key_bytes(key)))
        }
        TokenKey::Ed25519 { decoding, .. } => (Algorithm::EdDSA, decoding.clone()),
    };
    let mut validation = Validation::new(algorithm);
    validation.leeway = 0;
    validation.set_audience(&[AUDIENCE]);
    validation.set_required_spec_claims(&["exp", "aud"]);
    match jsonwebtoken::decode::<Claims>(token, &decoding, &validation) {
        Ok(data) => Ok(data.claims),
        Err(e) => Err(match e.kind() {
            ErrorKind::ExpiredSignature => {
                refuse(ErrorCode::TokenExpired, "the upload token has expired")
            }
            ErrorKind::InvalidAlgorithm | ErrorKind::MissingAlgorithm => wrong_alg(),
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

/// A fresh upload id: 128 random bits, URL-safe.
pub(crate) fn new_id() -> String {
    let bytes: [u8; 16] = rand::random();
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer(b: u8) -> Signer {
        Signer::new(vec![SigningKey::new("k1", vec![b; 32]).unwrap()]).unwrap()
    }

    fn now() -> i64 {
        crate::objects::now_secs()
    }

    #[test]
    fn a_token_verifies_and_scopes_to_its_folder() {
        let s = signer(1);
        let t = create(&s, &TokenKey::Hs256, "a/b", now(), 60, Vec::new()).unwrap();
        let c = verify(&s, &TokenKey::Hs256, &t.token).unwrap();
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

    /// RFC 8032, test 1: the seed in a PKCS#8 wrapper, and its public key.
    pub(crate) const ED_SEED: [u8; 32] = [
        0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c,
        0xc4, 0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae,
        0x7f, 0x60,
    ];
    pub(crate) const ED_PUBLIC: [u8; 32] = [
        0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5, 0x4b, 0xfe, 0xd3, 0xc9, 0x64, 0x07,
        0x3a, 0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6, 0x23, 0x25, 0xaf, 0x02, 0x1a, 0x68, 0xf7, 0x07,
        0x51, 0x1a,
    ];

    fn pkcs8(seed: &[u8; 32]) -> Vec<u8> {
        let mut der = vec![
            0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
            0x04, 0x20,
        ];
        der.extend_from_slice(seed);
        der
    }

    #[test]
    fn ed25519_tokens_verify_and_hs256_ones_are_the_wrong_algorithm() {
        let s = signer(1);
        let ed = TokenKey::ed25519(&pkcs8(&ED_SEED), &ED_PUBLIC).unwrap();
        let t = create(&s, &ed, "a", now(), 60, Vec::new()).unwrap().token;
        assert_eq!(verify(&s, &ed, &t).unwrap().dir, "a");
        let hs = create(&s, &TokenKey::Hs256, "a", now(), 60, Vec::new())
            .unwrap()
            .token;
        assert_eq!(
            verify(&s, &ed, &hs).unwrap_err().code(),
            ErrorCode::TokenAlgorithm
        );
        assert_eq!(
            verify(&s, &TokenKey::Hs256, &t).unwrap_err().code(),
            ErrorCode::TokenAlgorithm
        );
        let mut other = ED_PUBLIC;
        other[0] ^= 1;
        assert!(TokenKey::ed25519(&pkcs8(&ED_SEED), &other).is_err());
        assert!(TokenKey::ed25519(b"not der", &ED_PUBLIC).is_err());
    }

    #[test]
    fn forged_expired_and_unsigned_tokens_are_refused_distinctly() {
        let s = signer(1);
        let t = create(&s, &TokenKey::Hs256, "a", now(), 60, Vec::new())
            .unwrap()
            .token;
        assert_eq!(
            verify(&signer(2), &TokenKey::Hs256, &t).unwrap_err().code(),
            ErrorCode::TokenInvalid
        );
        let expired = create(&s, &TokenKey::Hs256, "a", now() - 100, 10, Vec::new())
            .unwrap()
            .token;
        assert_eq!(
            verify(&s, &TokenKey::Hs256, &expired).unwrap_err().code(),
            ErrorCode::TokenExpired
        );
        let parts: Vec<&str> = t.split('.').collect();
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
            parts[1]
        );
        assert_eq!(
            verify(&s, &TokenKey::Hs256, &none).unwrap_err().code(),
            ErrorCode::TokenAlgorithm
        );
        assert_eq!(
            verify(&s, &TokenKey::Hs256, "junk").unwrap_err().code(),
            ErrorCode::TokenInvalid
        );
        let mut tampered = t.clone();
        tampered.insert(parts[0].len() + 3, 'x');
        assert_eq!(
            verify(&s, &TokenKey::Hs256, &tampered).unwrap_err().code(),
            ErrorCode::TokenInvalid
        );
    }
}
