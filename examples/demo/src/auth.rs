//! Toy authentication: whoever names themselves is that user.
//!
//! The middleware of every route takes the user from the `x-user` header (curl, scripts) or
//! from the `uplift_demo_user` cookie set by the page's sign-in form (so plain HTML forms work).
//! There is no password: this shows where a real app would check a session, nothing more.

use actix_web::HttpRequest;
use serde::{Deserialize, Serialize};
use uplift::UploadError;

pub const HEADER: &str = "x-user";
pub const COOKIE: &str = "uplift_demo_user";
pub const MAX_NAME_LEN: usize = 32;

/// The metadata the routes hand to their completion hooks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub name: String,
}

/// A user name is 1–32 characters of `A-Z a-z 0-9 . _ -`, so it fits a cookie and a file
/// name as it is.
pub fn valid_name(raw: &str) -> Option<String> {
    let name = raw.trim();
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    ok.then(|| name.to_string())
}

/// The signed-in user, or `None`. The header wins over the cookie.
pub fn current_user(req: &HttpRequest) -> Result<Option<User>, UploadError> {
    let raw = match req.headers().get(HEADER) {
        Some(v) => Some(
            v.to_str()
                .map_err(|_| UploadError::unauthorized("the x-user header is not valid text"))?
                .to_string(),
        ),
        None => req.cookie(COOKIE).map(|c| c.value().to_string()),
    };
    match raw {
        None => Ok(None),
        Some(raw) => valid_name(&raw)
            .map(|name| Some(User { name }))
            .ok_or_else(|| {
                UploadError::unauthorized(format!(
                "user names are 1-{MAX_NAME_LEN} characters of letters, digits, '.', '_' or '-'"
            ))
            }),
    }
}

/// Who a request comes from, for Uplift's per-caller limits and for whose files a user
/// manages (`UpliftBuilder::caller`): the signed-in user's name.
pub fn caller(req: &HttpRequest) -> Option<String> {
    current_user(req).ok().flatten().map(|u| u.name)
}

/// What every route's middleware starts with: a user, or 401.
pub fn require_user(req: &HttpRequest) -> Result<User, UploadError> {
    current_user(req)?.ok_or_else(|| {
        UploadError::unauthorized(
            "sign in first: send an `x-user: <name>` header, or use the sign-in form on the demo page",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::cookie::Cookie;
    use actix_web::test::TestRequest;

    #[test]
    fn names_are_checked() {
        assert_eq!(valid_name("  ann "), Some("ann".into()));
        assert_eq!(valid_name("a.b_c-9"), Some("a.b_c-9".into()));
        for bad in [
            "",
            "   ",
            "ann smith",
            "../etc",
            "ann;x=1",
            &"a".repeat(33),
            "zoë",
        ] {
            assert_eq!(valid_name(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn header_then_cookie_then_nobody() {
        let req = TestRequest::default()
            .insert_header((HEADER, "ann"))
            .cookie(Cookie::new(COOKIE, "bob"))
            .to_http_request();
        assert_eq!(require_user(&req).unwrap().name, "ann");
        let req = TestRequest::default()
            .cookie(Cookie::new(COOKIE, "bob"))
            .to_http_request();
        assert_eq!(require_user(&req).unwrap().name, "bob");
        let req = TestRequest::default().to_http_request();
        let err = require_user(&req).unwrap_err();
        assert_eq!(err.code(), uplift::ErrorCode::Unauthorized);
        let req = TestRequest::default()
            .insert_header((HEADER, "no spaces please"))
            .to_http_request();
        assert_eq!(
            require_user(&req).unwrap_err().code(),
            uplift::ErrorCode::Unauthorized
        );
    }
}
