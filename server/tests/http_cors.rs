//! Browser frontends on another origin: preflight and simple requests get CORS headers only
//! when the app allows that origin.

mod common;

use common::{Options, TestServer};
use serde::{Deserialize, Serialize};
use uplift::{UploadError, UploadedFile};

#[derive(Serialize, Deserialize)]
pub struct Meta {}

#[uplift::file_route(image, on_upload_complete = done)]
async fn avatar() -> Result<Meta, UploadError> {
    Ok(Meta {})
}

async fn done(_m: Meta, _f: UploadedFile) -> Result<(), UploadError> {
    Ok(())
}

fn server(origins: Option<&'static [&'static str]>) -> TestServer {
    let configure: Box<dyn Fn(uplift::UpliftBuilder) -> uplift::UpliftBuilder + Send> =
        match origins {
            Some(o) => Box::new(move |b| b.cors_origins(o.iter().copied())),
            None => Box::new(|b| b),
        };
    TestServer::start_with(
        uplift::router![avatar],
        Options {
            configure,
            ..Default::default()
        },
    )
}

async fn preflight(srv: &TestServer, origin: &str) -> reqwest::Response {
    reqwest::Client::new()
        .request(reqwest::Method::OPTIONS, format!("{}/avatar", srv.base))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type,x-user")
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn allowed_origins_get_preflight_and_response_headers() {
    let srv = server(Some(&["http://app.test:5173"]));
    let res = preflight(&srv, "http://app.test:5173").await;
    assert!(res.status().is_success(), "preflight: {}", res.status());
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "http://app.test:5173"
    );
    let methods = res.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        methods.contains("PUT") && methods.contains("POST"),
        "{methods}"
    );

    let res = reqwest::Client::new()
        .get(&srv.base)
        .header("origin", "http://app.test:5173")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "http://app.test:5173"
    );
}

#[tokio::test]
async fn other_origins_are_not_allowed() {
    let srv = server(Some(&["http://app.test:5173"]));
    let res = preflight(&srv, "http://evil.test").await;
    assert!(res.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn without_cors_config_no_cors_headers_are_sent() {
    let srv = server(None);
    let res = reqwest::Client::new()
        .get(&srv.base)
        .header("origin", "http://app.test:5173")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers().get("access-control-allow-origin").is_none());
}
