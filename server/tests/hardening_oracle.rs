//! No existence oracle for private files: without a valid signature, a private route file or
//! signed object gets exactly the answer an unknown key or path gets (status, code and body),
//! and a bad signature is refused the same way whether the file exists or not.

mod common;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uplift::{Acl, SignOptions, UploadError, UploadedFile};

use common::fixtures;
use common::http::{client, decl, put, with_query, Resp};
use common::signed::file_of;
use common::TestServer;

#[derive(Debug, Serialize, Deserialize)]
pub struct Meta {}

async fn done(_meta: Meta, file: UploadedFile) -> Result<Value, UploadError> {
    Ok(json!({ "url": file.url }))
}

#[uplift::file_route(image(acl = "private"), await_server_data, on_upload_complete = done)]
async fn vault() -> Result<Meta, UploadError> {
    Ok(Meta {})
}

#[uplift::file_route(image, await_server_data, on_upload_complete = done)]
async fn open() -> Result<Meta, UploadError> {
    Ok(Meta {})
}

fn server() -> TestServer {
    TestServer::start(uplift::router![vault, open])
}

async fn get(c: &reqwest::Client, url: &str) -> Resp {
    Resp::read(c.get(url).send().await.unwrap()).await
}

/// Same status, same headers that matter, byte-identical body.
#[track_caller]
fn assert_same(what: &str, a: &Resp, b: &Resp) {
    assert_eq!(a.status, b.status, "{what}: statuses differ");
    assert_eq!(
        a.bytes,
        b.bytes,
        "{what}: bodies differ: {} vs {}",
        String::from_utf8_lossy(&a.bytes),
        String::from_utf8_lossy(&b.bytes)
    );
    assert_eq!(a.header("content-type"), b.header("content-type"), "{what}");
}

async fn upload(srv: &TestServer, c: &reqwest::Client, slug: &str) -> Value {
    let png = fixtures::png(120);
    let r = srv
        .prepare(
            c,
            slug,
            json!([decl("a.png", png.len(), "image/png")]),
            Value::Null,
        )
        .await;
    let url = r.ok()["files"][0]["uploadUrl"]
        .as_str()
        .unwrap()
        .to_string();
    put(c, &url, Some("image/png"), png).await.ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_route_files_answer_like_unknown_keys() {
    let srv = server();
    let c = client();
    let done = upload(&srv, &c, "vault").await;
    let key = done["key"].as_str().unwrap();
    let signed = done["file"]["url"].as_str().unwrap();
    // an unknown key of the same shape
    let unknown = "A".repeat(key.len());

    let private = get(&c, &srv.url(&format!("/download/{key}"))).await;
    let missing = get(&c, &srv.url(&format!("/download/{unknown}"))).await;
    private.error(404, "NOT_FOUND");
    assert_same("unsigned", &private, &missing);

    // HEAD too
    let h1 = Resp::read(
        c.head(srv.url(&format!("/download/{key}")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let h2 = Resp::read(
        c.head(srv.url(&format!("/download/{unknown}")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((h1.status, h2.status), (404, 404));

    // A signature for one key presented for another: refused alike, file or no file.
    let query = signed.split_once('?').unwrap().1;
    let other = upload(&srv, &c, "vault").await;
    let other_key = other["key"].as_str().unwrap();
    let a = get(&c, &srv.url(&format!("/download/{other_key}?{query}"))).await;
    let b = get(&c, &srv.url(&format!("/download/{unknown}?{query}"))).await;
    a.error(403, "SIGNATURE_INVALID");
    assert_same("signature of another key", &a, &b);
    // A half-signed URL, too.
    let half = with_query(signed, "sig", None);
    let a = get(&c, &half).await;
    let b = get(&c, &half.replace(key, &unknown)).await;
    a.error(403, "SIGNATURE_INVALID");
    assert_same("half-signed", &a, &b);

    // The signed URL still opens the file.
    let r = get(&c, signed).await;
    assert_eq!(r.status, 200);

    // A public file is still served by its bare URL, whatever else is in the query.
    let public = upload(&srv, &c, "open").await;
    let url = public["file"]["url"].as_str().unwrap();
    assert_eq!(get(&c, url).await.status, 200);
    assert_eq!(get(&c, &format!("{url}?sig=x")).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_signed_objects_answer_like_unknown_paths() {
    let srv = server();
    let c = client();
    let signed = srv
        .signed
        .get_signed_put_with(
            "vault",
            &SignOptions {
                filename: Some("secret.png".into()),
                acl: Acl::Private,
                ..Default::default()
            },
        )
        .unwrap();
    let r = put(
        &c,
        &signed.upload_url,
        Some("image/png"),
        fixtures::png(100),
    )
    .await;
    let url = file_of(&r)["url"].as_str().unwrap().to_string();
    let bare = url.split('?').next().unwrap().to_string();
    let unknown = bare.replace("secret.png", "nothing.png");

    let a = get(&c, &bare).await;
    let b = get(&c, &unknown).await;
    a.error(404, "NOT_FOUND");
    assert_same("unsigned", &a, &b);

    // a signature of another path, or garbage: refused alike
    let a = get(&c, &format!("{bare}?x=1")).await;
    let b = get(&c, &format!("{unknown}?x=1")).await;
    assert_eq!(a.status, 403);
    assert_same("garbage query", &a, &b);
    let other = srv
        .signed
        .get_signed_url("vault/other.png", std::time::Duration::from_secs(60))
        .unwrap();
    let other_query = other.split_once('?').unwrap().1;
    let a = get(&c, &format!("{bare}?{other_query}")).await;
    let b = get(&c, &format!("{unknown}?{other_query}")).await;
    assert_eq!(a.status, 403);
    assert_same("signature of another path", &a, &b);

    // the real signed URL opens it; a valid signature for a missing path is a plain 404
    assert_eq!(get(&c, &url).await.status, 200);
    let signed_missing = srv
        .signed
        .get_signed_url("vault/nothing.png", std::time::Duration::from_secs(60))
        .unwrap();
    get(&c, &signed_missing).await.error(404, "NOT_FOUND");
}
