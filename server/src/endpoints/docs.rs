//! `GET {base}/openapi.json` and the docs UI at `{base}/docs/`: Swagger UI, vendored into the
//! binary (`utoipa-swagger-ui`'s `vendored` feature: nothing is downloaded at build time) and
//! configured to fetch nothing but `../openapi.json` (no validator badge, no `?url=`).

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpResponse};

use crate::error::UploadError;
use crate::state::Shared;

/// No origin but ours; Swagger UI sets inline styles and uses `data:` images.
const DOCS_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
    img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; \
    base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub(crate) fn config() -> utoipa_swagger_ui::Config<'static> {
    // Relative to `{base}/docs/`, so it also works behind a proxy that strips a path prefix.
    utoipa_swagger_ui::Config::new(["../openapi.json"])
        // The default would send the document to https://validator.swagger.io for a badge.
        .validator_url("none")
        // No `?url=https://elsewhere/…` to make the page load another document.
        .query_config_enabled(false)
        // No top bar: its "Explore" box fetches whatever URL is typed into it.
        .use_base_layout()
        .display_operation_id(true)
        .deep_linking(true)
}

pub(crate) async fn openapi_json(shared: web::Data<Shared>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(shared.openapi_json.clone())
}

/// `{base}/docs` → `{base}/docs/`: the page's assets are relative to it.
pub(crate) async fn redirect() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, "docs/"))
        .finish()
}

pub(crate) async fn file(
    shared: web::Data<Shared>,
    path: web::Path<String>,
) -> Result<HttpResponse, UploadError> {
    let file = utoipa_swagger_ui::serve(&path, shared.docs.clone())
        .map_err(|e| UploadError::internal_msg(format!("docs UI: {e}")))?
        .ok_or_else(|| UploadError::not_found("no such file in the docs UI"))?;
    let mut res = HttpResponse::Ok()
        .content_type(file.content_type)
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(file.bytes.into_owned());
    let h = res.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(DOCS_CSP),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    Ok(res)
}
