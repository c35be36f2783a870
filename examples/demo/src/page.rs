//! The demo page and its few helper endpoints: sign in/out, who am I, recent hook activity.
//!
//! `/` is the React page built by Vite into `examples/demo/web/dist` (`cargo xtask demo` builds
//! it when it is missing or stale), read from disk at each request so a rebuild needs no
//! restart; another build directory is chosen with `UPLIFT_DEMO_WEB_DIR`. Without a build, `/`
//! is the plain HTML page, which stays at `/plain` for use without JavaScript.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header;
use actix_web::{guard, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;
use uplift::UploadError;

use crate::activity;
use crate::auth::{current_user, require_user, valid_name, COOKIE, MAX_NAME_LEN};

const INDEX_HTML: &str = include_str!("../static/index.html");
const APP_JS: &str = include_str!("../static/app.js");
const STYLE_CSS: &str = include_str!("../static/style.css");

/// No external origins but the bucket's, no inline scripts; uploaded files are shown as images
/// from our origin (or the bucket's, where downloads redirect).
fn page_csp() -> &'static header::HeaderValue {
    static CSP: OnceLock<header::HeaderValue> = OnceLock::new();
    CSP.get_or_init(|| {
        let bucket = BUCKET_ORIGIN.get().map(String::as_str).unwrap_or("");
        let csp = format!(
            "default-src 'self'; connect-src 'self' {bucket}; img-src 'self' blob: {bucket}; \
             media-src 'self' blob: {bucket}; object-src 'none'; base-uri 'none'; \
             form-action 'self'; frame-ancestors 'none'"
        );
        header::HeaderValue::from_str(&csp.replace("  ", " ")).expect("a header value")
    })
}

static BUCKET_ORIGIN: OnceLock<String> = OnceLock::new();

/// The bucket's origin, when files are stored in one: the page may then send files straight
/// to it and show downloads (which redirect there). Set before the first page is served.
pub fn set_bucket_origin(origin: String) {
    let plain = origin
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b":/.-[]".contains(&b));
    if plain {
        let _ = BUCKET_ORIGIN.set(origin);
    }
}

/// Where the built React page is looked for, unless `UPLIFT_DEMO_WEB_DIR` says otherwise.
const DEFAULT_WEB_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/web/dist");

static WEB_DIR: OnceLock<PathBuf> = OnceLock::new();

/// The directory of the built React page (`index.html` + `assets/`), from `UPLIFT_DEMO_WEB_DIR`
/// or `examples/demo/web/dist`. It need not exist: `/` then serves the plain page.
pub fn web_dir() -> &'static Path {
    WEB_DIR.get_or_init(|| {
        std::env::var_os("UPLIFT_DEMO_WEB_DIR")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_WEB_DIR))
    })
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    // GET and HEAD (actix sends no body for HEAD).
    let get_or_head = || web::route().guard(guard::Any(guard::Get()).or(guard::Head()));
    cfg.service(web::resource("/").route(get_or_head().to(index)))
        .service(web::resource("/plain").route(get_or_head().to(plain_index)))
        .service(web::resource("/uploadthing").route(get_or_head().to(uploadthing_page)))
        .service(web::resource("/assets/{name}").route(get_or_head().to(built_asset)))
        .service(web::resource("/app.js").route(get_or_head().to(app_js)))
        .service(web::resource("/style.css").route(get_or_head().to(style_css)))
        // No icon; answering keeps browsers from logging a 404 on every visit.
        .route("/favicon.ico", web::get().to(HttpResponse::NoContent))
        .route("/login", web::post().to(login))
        .route("/logout", web::post().to(logout))
        .route("/api/demo/me", web::get().to(me))
        .route("/api/demo/activity", web::get().to(recent_activity));
}

fn asset(content_type: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(body)
}

/// A page of the Vite build, if it was built.
async fn built_page(name: &str) -> Option<HttpResponse> {
    let html = tokio::fs::read(web_dir().join(name)).await.ok()?;
    Some(page_headers(
        HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
            .insert_header((header::CACHE_CONTROL, "no-cache"))
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .body(html),
    ))
}

/// `/`: the built React page when there is one, else the plain page.
async fn index() -> HttpResponse {
    match built_page("index.html").await {
        Some(page) => page,
        None => plain_index().await,
    }
}

/// `/uploadthing`: the page built with UploadThing's own React components.
async fn uploadthing_page() -> HttpResponse {
    match built_page("uploadthing.html").await {
        Some(page) => page,
        None => HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body("the page is not built: `npm run build` in examples/demo/web"),
    }
}

/// `/plain`: the page without a build step; its forms work without JavaScript.
async fn plain_index() -> HttpResponse {
    page_headers(asset("text/html; charset=utf-8", INDEX_HTML))
}

fn page_headers(mut res: HttpResponse) -> HttpResponse {
    res.headers_mut()
        .insert(header::CONTENT_SECURITY_POLICY, page_csp().clone());
    res.headers_mut().insert(
        header::REFERRER_POLICY,
        header::HeaderValue::from_static("no-referrer"),
    );
    res
}

/// `/assets/{name}`: a file of the Vite build. Names are content-hashed, so they are cached
/// for good; only plain file names are served (no `/`, no `..`, no dot files).
async fn built_asset(name: web::Path<String>) -> HttpResponse {
    let name = name.into_inner();
    let plain = !name.is_empty()
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    let not_found = || {
        HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body("no such asset; rebuild the page with `cargo xtask demo`")
    };
    if !plain {
        return not_found();
    }
    let Ok(body) = tokio::fs::read(web_dir().join("assets").join(&name)).await else {
        return not_found();
    };
    let ext = name.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    let content_type = match ext {
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "map" | "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    };
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(body)
}

async fn app_js() -> HttpResponse {
    asset("text/javascript; charset=utf-8", APP_JS)
}

async fn style_css() -> HttpResponse {
    asset("text/css; charset=utf-8", STYLE_CSS)
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    name: String,
}

/// `?next=/plain` sends the plain page's forms back to it; nothing else is a place to go.
#[derive(Debug, Deserialize)]
struct Next {
    next: Option<String>,
}

fn back_home(next: &Next) -> actix_web::HttpResponseBuilder {
    let to = match next.next.as_deref() {
        Some("/plain") => "/plain",
        _ => "/",
    };
    let mut res = HttpResponse::SeeOther();
    res.insert_header((header::LOCATION, to));
    res
}

/// `POST /login` with `name=…`: sets the toy-auth cookie and goes back to the page.
async fn login(next: web::Query<Next>, form: web::Form<LoginForm>) -> HttpResponse {
    let Some(name) = valid_name(&form.name) else {
        return HttpResponse::BadRequest()
            .content_type("text/plain; charset=utf-8")
            .body(format!(
                "A name is 1-{MAX_NAME_LEN} characters of letters, digits, '.', '_' or '-'. Go back and try another."
            ));
    };
    let cookie = Cookie::build(COOKIE, name)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .finish();
    back_home(&next).cookie(cookie).finish()
}

async fn logout(next: web::Query<Next>) -> HttpResponse {
    let mut cookie = Cookie::build(COOKIE, "").path("/").finish();
    cookie.make_removal();
    back_home(&next).cookie(cookie).finish()
}

/// `GET /api/demo/me`: `{"user": "ann"}` or `{"user": null}`.
async fn me(req: HttpRequest) -> HttpResponse {
    let user = current_user(&req).ok().flatten().map(|u| u.name);
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({ "user": user }))
}

/// `GET /api/demo/activity`: what the completion and error hooks did with the signed-in
/// user's uploads, newest first (`{"user": "ann", "events": [...]}`); 401 for nobody.
async fn recent_activity(req: HttpRequest) -> Result<HttpResponse, UploadError> {
    let user = require_user(&req)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({ "user": user.name, "events": activity::recent_for(&user.name) })))
}
