//! The demo page and its few helper endpoints: sign in/out, who am I, recent hook activity.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header;
use actix_web::{guard, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use crate::activity;
use crate::auth::{current_user, valid_name, COOKIE, MAX_NAME_LEN};

const INDEX_HTML: &str = include_str!("../static/index.html");
const APP_JS: &str = include_str!("../static/app.js");
const STYLE_CSS: &str = include_str!("../static/style.css");

/// No external origins, no inline scripts; uploaded files are shown as images from our origin.
const PAGE_CSP: &str = "default-src 'self'; img-src 'self' blob:; media-src 'self' blob:; \
    object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub fn configure(cfg: &mut web::ServiceConfig) {
    // GET and HEAD (actix sends no body for HEAD).
    let get_or_head = || web::route().guard(guard::Any(guard::Get()).or(guard::Head()));
    cfg.service(web::resource("/").route(get_or_head().to(index)))
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

async fn index() -> HttpResponse {
    let mut res = asset("text/html; charset=utf-8", INDEX_HTML);
    res.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        header::HeaderValue::from_static(PAGE_CSP),
    );
    res.headers_mut().insert(
        header::REFERRER_POLICY,
        header::HeaderValue::from_static("no-referrer"),
    );
    res
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

fn back_home() -> actix_web::HttpResponseBuilder {
    let mut res = HttpResponse::SeeOther();
    res.insert_header((header::LOCATION, "/"));
    res
}

/// `POST /login` with `name=…`: sets the toy-auth cookie and goes back to the page.
async fn login(form: web::Form<LoginForm>) -> HttpResponse {
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
    back_home().cookie(cookie).finish()
}

async fn logout() -> HttpResponse {
    let mut cookie = Cookie::build(COOKIE, "").path("/").finish();
    cookie.make_removal();
    back_home().cookie(cookie).finish()
}

/// `GET /api/demo/me`: `{"user": "ann"}` or `{"user": null}`.
async fn me(req: HttpRequest) -> HttpResponse {
    let user = current_user(&req).ok().flatten().map(|u| u.name);
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({ "user": user }))
}

/// `GET /api/demo/activity`: what the completion and error hooks did, newest first.
async fn recent_activity() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({ "events": activity::recent() }))
}
