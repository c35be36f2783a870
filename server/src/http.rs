//! The HTTP surface on top: one table of every endpoint, mounted as one actix scope. The
//! OpenAPI document describes the same table; a test holds the two together.

use std::sync::Arc;

use actix_cors::Cors;
use actix_web::dev::HttpServiceFactory;
use actix_web::http::header::{HeaderValue, ALLOW};
use actix_web::http::StatusCode;
use actix_web::middleware::Condition;
use actix_web::{web, HttpResponse, Resource, ResponseError};

use crate::endpoints::{
    direct_multipart, docs, download, files, multipart, objects, prepare, routes, tus, upload,
    uploadthing,
};
use crate::error::{ErrorCode, UploadError};
use crate::state::Shared;

/// One endpoint: its path under the base (an actix pattern), the methods it answers and how
/// its handlers are mounted. `{slug}` paths stand for every file route.
pub(crate) struct Endpoint {
    /// The actix pattern, relative to the base path.
    pub path: &'static str,
    /// The path as the OpenAPI document writes it (`{slug}` is each route's slug there).
    pub documented: &'static str,
    /// The methods served, in the order of the `Allow` header.
    pub methods: &'static [&'static str],
    mount: fn(Resource) -> Resource,
    /// The methods added when the router manages files over HTTP (`Router::manage_files`),
    /// and how they are mounted.
    pub managed: &'static [&'static str],
    mount_managed: fn(Resource) -> Resource,
}

impl Endpoint {
    /// The methods served, with or without file management.
    pub(crate) fn methods(&self, managed: bool) -> Vec<&'static str> {
        let mut all = self.methods.to_vec();
        if managed {
            all.extend_from_slice(self.managed);
        }
        all
    }
}

/// No methods beyond the fixed ones.
fn unmanaged(r: Resource) -> Resource {
    r
}

/// Every endpoint, in matching order: fixed paths before the `{slug}` ones.
pub(crate) const ENDPOINTS: &[Endpoint] = &[
    Endpoint {
        path: "",
        documented: "",
        methods: &["GET"],
        mount: |r| r.route(web::get().to(routes::list)),
        managed: &[],
        mount_managed: unmanaged,
    },
    Endpoint {
        path: "/files",
        documented: "/files",
        methods: &[],
        mount: unmanaged,
        managed: &["GET"],
        mount_managed: |r| r.route(web::get().to(files::list)),
    },
    Endpoint {
        path: "/files/{key}",
        documented: "/files/{key}",
        methods: &["GET"],
        mount: |r| r.route(web::get().to(files::status)),
        managed: &["PATCH", "DELETE"],
        mount_managed: |r| {
            r.route(web::patch().to(files::change))
                .route(web::delete().to(files::delete))
        },
    },
    Endpoint {
        path: "/upload/{key}",
        documented: "/upload/{key}",
        methods: &["PUT"],
        mount: |r| r.route(web::put().to(upload::put)),
        managed: &[],
        mount_managed: unmanaged,
    },
    Endpoint {
        path: "/upload/{key}/complete",
        documented: "/upload/{key}/complete",
        methods: &["POST"],
        mount: |r| r.route(web::post().to(upload::complete)),
        managed: &[],
        mount_managed: unmanaged,
    },
    Endpoint {
        path: "/upload/{key}/parts",
        documented: "/upload/{key}/parts",
        methods: &["POST"],
        mount: |r| r.route(web::post().to(direct_multipart::parts)),
        managed: &[],
        mount_managed: unmanaged,
    },
    Endpoint {
        path: "/upload/{key}/abort",
        documented: "/upload/{key}/abort",
        methods: &["POST"],
        mount: |r| r.route(web::post().to(direct_multipart::abort)),
        managed: &[],
        mount_managed: unmanaged,
    },
    Endpoint {
        path: "/download/{key}",
        documented: "/download/{key}",
        methods: &["GET", "HEAD"],
        mount: |r| {
            r.route(web::get().to(download::download))
                .route(web::head().to(download::download))
        },
        managed: &[],
        mount_managed: unmanaged,
    },
    Endpoint {
        path: "/openapi.json",
        documented: "/openapi.json",
        methods: &["GET"],
        mount: |r| r.route(web::get().to(docs::openapi_json)),
        managed: &[],
        mount_managed: unmanaged,
    },
    Endpoint {
        path: "/docs",
        documented: "/docs",
        methods: &["GET"],
        mount: |r| r.route(web::get().to(docs::redirect)),
        managed: &[],
        mount_managed: unmanaged,
    },
    Endpoint {
        path: "/docs/{file:.*}",
        documented: "/docs/",
        methods: &["GET"],
        mount: |r| r.route(web::get().to(docs::file)),
        managed: &[],
        mount_managed: unmanaged,
    },
    Endpoint {
        path: "/tus/{id}",
        documented: "/tus/{id}",
        methods: &["HEAD", "PATCH", "DELETE", "OPTIONS"],
        // tus answers every method itself (its 405 carries the tus headers), and takes
        // `X-HTTP-Method-Override` on a POST.
        mount: |r| r.route(web::route().to(tus::upload_endpoint)),
        managed: &[],
        mount_managed: unmanaged,
    },
    Endpoint {
        path: "/objects",
        documented: "/objects",
        methods: &["POST", "GET"],
        mount: |r| {
            r.route(web::post().to(objects::post_form))
                .route(web::get().to(objects::list))
        },
        managed: &[],
        mount_managed: unmanaged,
    },
    Endpoint {
        path: "/objects/{path:.*}",
        documented: "/objects/{path}",
        methods: &["PUT", "POST", "GET", "HEAD", "DELETE"],
        mount: |r| {
            r.route(web::put().to(objects::put))
                .route(web::post().to(objects::post_token))
                .route(web::get().to(objects::get))
                .route(web::head().to(objects::get))
                .route(web::delete().to(objects::delete))
        },
        managed: &[],
        mount_managed: unmanaged,
    },
    Endpoint {
        path: "/uploadthing",
        documented: "/uploadthing",
        methods: &["GET", "POST"],
        mount: |r| {
            r.route(web::get().to(uploadthing::handler))
                .route(web::post().to(uploadthing::handler))
        },
        managed: &[],
        mount_managed: unmanaged,
    },
    Endpoint {
        path: "/uploadthing/ingest/{id}",
        documented: "/uploadthing/ingest/{id}",
        methods: &["HEAD", "PUT"],
        mount: |r| {
            r.route(web::head().to(uploadthing::ingest))
                .route(web::put().to(uploadthing::ingest))
        },
        managed: &[],
        mount_managed: unmanaged,
    },
    Endpoint {
        path: "/{slug}",
        documented: "/{slug}",
        methods: &["POST"],
        mount: |r| r.route(web::post().to(prepare::prepare)),
        managed: &[],
        mount_managed: unmanaged,
    },
    Endpoint {
        path: "/{slug}/tus",
        documented: "/{slug}/tus",
        methods: &["POST", "OPTIONS"],
        mount: |r| r.route(web::route().to(tus::route_endpoint)),
        managed: &[],
        mount_managed: unmanaged,
    },
    Endpoint {
        path: "/{slug}/multipart",
        documented: "/{slug}/multipart",
        methods: &["POST"],
        mount: |r| r.route(web::post().to(multipart::multipart)),
        managed: &[],
        mount_managed: unmanaged,
    },
];

/// Every endpoint under `shared.base_path`, behind `cors` when set.
pub(crate) fn scope(shared: Arc<Shared>, cors: Option<Cors>) -> impl HttpServiceFactory {
    let json = web::JsonConfig::default()
        .limit(shared.limits.max_json_body)
        .error_handler(|err, _req| json_error(&err).into());
    let query = web::QueryConfig::default().error_handler(|_, _| {
        UploadError::bad_request("the query string is malformed or has a value of the wrong type")
            .into()
    });
    let path = web::PathConfig::default()
        .error_handler(|_, _| UploadError::bad_request("the path is malformed").into());
    let enabled = cors.is_some();
    let mut scope = web::scope(&shared.base_path)
        .app_data(web::Data::from(shared.clone()))
        .app_data(json)
        .app_data(query)
        .app_data(path)
        .app_data(crate::form::parser_config())
        .wrap(Condition::new(enabled, cors.unwrap_or_default()));
    let managed = shared.router.files_access().is_some();
    for e in ENDPOINTS {
        let methods = e.methods(managed);
        if methods.is_empty() {
            continue;
        }
        let mut r = (e.mount)(resource(e.path, &methods));
        if managed {
            r = (e.mount_managed)(r);
        }
        scope = scope.service(r);
    }
    scope.default_service(web::to(|| async {
        Err::<HttpResponse, _>(UploadError::not_found("no such endpoint"))
    }))
}

/// A JSON body that could not be read, said without repeating any of it.
fn json_error(err: &actix_web::error::JsonPayloadError) -> UploadError {
    use actix_web::error::JsonPayloadError as E;
    match err {
        E::OverflowKnownLength { .. } | E::Overflow { .. } => {
            UploadError::new(ErrorCode::TooLarge, "the JSON body is too large")
        }
        E::ContentType => UploadError::bad_request("send the request body as application/json"),
        E::Deserialize(e) if e.is_data() => UploadError::bad_request(format!(
            "the JSON body does not match the expected shape (line {}, column {})",
            e.line(),
            e.column()
        )),
        E::Deserialize(e) => UploadError::bad_request(format!(
            "the JSON body is not valid JSON (line {}, column {})",
            e.line(),
            e.column()
        )),
        _ => UploadError::bad_request("the JSON body could not be read"),
    }
}

/// A resource whose other methods get a 405 in the error envelope (actix's own has no body).
fn resource(path: &str, methods: &[&str]) -> Resource {
    let allow = methods.join(", ");
    web::resource(path).default_service(web::to(move || {
        let allow = allow.clone();
        async move {
            let mut res = UploadError::with_status(
                StatusCode::METHOD_NOT_ALLOWED,
                format!("this endpoint takes {allow} only"),
            )
            .error_response();
            if let Ok(v) = HeaderValue::from_str(&allow) {
                res.headers_mut().insert(ALLOW, v);
            }
            res
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_slugs_are_the_fixed_endpoints_first_segments() {
        let mut fixed: Vec<&str> = ENDPOINTS
            .iter()
            .filter(|e| !e.methods.is_empty())
            .filter(|e| !e.path.starts_with("/{slug}"))
            .filter_map(|e| e.path.split('/').nth(1))
            .filter(|s| !s.is_empty() && !s.contains('.'))
            .collect();
        fixed.sort_unstable();
        fixed.dedup();
        let mut reserved = crate::router::RESERVED_SLUGS.to_vec();
        reserved.sort_unstable();
        assert_eq!(fixed, reserved);
    }
}
