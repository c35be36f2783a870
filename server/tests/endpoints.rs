//! The HTTP scope and the OpenAPI document describe one set of endpoints: every (method, path)
//! the server mounts is documented, every documented one is served (over real HTTP, it does not
//! fall through to "no such endpoint" or a 405), and nothing else is.

mod common;

use std::collections::BTreeSet;

use serde_json::Value;
use uplift::{NoInput, UploadError, UploadedFile};

use common::http::{client, Resp};
use common::TestServer;

async fn done(_: (), _: UploadedFile) -> Result<(), UploadError> {
    Ok(())
}

#[uplift::file_route(image, on_upload_complete = done)]
async fn avatar(_input: NoInput) -> Result<(), UploadError> {
    Ok(())
}

#[uplift::file_route(blob, slug = "attachments", on_upload_complete = done)]
async fn files_of_a_post() -> Result<(), UploadError> {
    Ok(())
}

const BASE: &str = "/api/uploads";

/// (METHOD, path) pairs of the mounted scope, `{slug}` expanded for each route.
fn mounted(slugs: &[&str], managed: bool) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, methods) in uplift::__private::endpoints(managed) {
        let paths: Vec<String> = if path.contains("{slug}") {
            slugs.iter().map(|s| path.replace("{slug}", s)).collect()
        } else {
            vec![path.to_string()]
        };
        for p in paths {
            for m in &methods {
                out.insert((m.to_string(), format!("{BASE}{p}")));
            }
        }
    }
    out
}

/// (METHOD, path) pairs of the OpenAPI document.
fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in [
            "get", "put", "post", "delete", "options", "head", "patch", "trace",
        ] {
            if item.get(method).is_some() {
                out.insert((method.to_ascii_uppercase(), path.clone()));
            }
        }
    }
    out
}

/// The routes, managing files over HTTP or not.
fn router(managed: bool) -> uplift::Router {
    let router = uplift::router![avatar, files_of_a_post];
    if managed {
        router.manage_files(|_req| Ok(uplift::FilesAccess::All))
    } else {
        router
    }
}

#[test]
fn the_scope_and_the_document_list_the_same_endpoints() {
    for managed in [false, true] {
        let doc: Value = serde_json::from_str(&router(managed).openapi_json(BASE)).unwrap();
        let mounted = mounted(&["avatar", "attachments"], managed);
        let documented = documented(&doc);
        let undocumented: Vec<_> = mounted.difference(&documented).collect();
        let unserved: Vec<_> = documented.difference(&mounted).collect();
        assert!(
            undocumented.is_empty() && unserved.is_empty(),
            "managed: {managed}\nmounted but not documented: {undocumented:?}\ndocumented but not mounted: {unserved:?}"
        );
        let has_listing = documented.contains(&("GET".to_string(), format!("{BASE}/files")));
        assert_eq!(has_listing, managed);
    }
}

/// A concrete URL for a documented path template.
fn concrete(path: &str) -> String {
    path.replace("{key}", "AAAAAAAAAAAAAAAAAAAAAAAAAAA")
        .replace("{id}", "AAAAAAAAAAAAAAAAAAAAAAAAAAA.k1.AAAA")
        .replace("{path}", "folder/file.txt")
}

#[actix_rt::test]
async fn every_documented_endpoint_is_served() {
    for managed in [false, true] {
        every_documented_endpoint_is_served_by(router(managed)).await;
    }
}

async fn every_documented_endpoint_is_served_by(router: uplift::Router) {
    let srv = TestServer::start(router);
    let c = client();
    let doc = Resp::read(
        c.get(format!("{}/openapi.json", srv.base))
            .send()
            .await
            .unwrap(),
    )
    .await
    .ok();
    let documented = documented(&doc);
    assert!(documented.len() > 15, "{documented:?}");
    for (method, path) in documented {
        let url = format!("{}{}", srv.origin, concrete(&path));
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let r = Resp::read(c.request(m, &url).send().await.unwrap()).await;
        assert_ne!(r.status, 405, "{method} {path} answered 405");
        if r.status == 404 && method != "HEAD" {
            let body = r.json();
            assert_ne!(
                body["error"]["message"], "no such endpoint",
                "{method} {path} fell through to the default service"
            );
        }
    }
    // And something that is not an endpoint is refused as such.
    let r = Resp::read(
        c.get(format!("{}/nothing/here/at/all", srv.base))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"]["message"], "no such endpoint");
}
