//! The multipart upload's middleware runs before the first byte of the first file is accepted:
//! a refused caller is answered while its body is still on the wire, nothing is staged, and the
//! middleware sees the declared files (and may rename them) when a `files` field is sent.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use reqwest::multipart::{Form, Part};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uplift::{HttpRequest, NoInput, PendingFiles, UploadError, UploadedFile};

use common::fixtures;
use common::http::{client, read_response, start_put, Resp, PATIENCE};
use common::TestServer;

/// How many files the middleware saw, per call (the last call wins).
static SEEN: AtomicUsize = AtomicUsize::new(usize::MAX);

#[derive(Debug, Serialize, Deserialize)]
pub struct Meta {
    user: String,
}

async fn saved(_: Meta, file: UploadedFile) -> Result<Value, UploadError> {
    Ok(json!({ "name": file.name }))
}

#[uplift::file_route(
    image(max_file_size = "4MB", max_file_count = 3),
    await_server_data,
    on_upload_complete = saved
)]
async fn photos(
    req: HttpRequest,
    _input: NoInput,
    files: &mut PendingFiles,
) -> Result<Meta, UploadError> {
    let user = req
        .headers()
        .get("x-user")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| UploadError::unauthorized("sign in first"))?
        .to_string();
    SEEN.store(files.len(), Ordering::SeqCst);
    for (i, f) in files.iter_mut().enumerate() {
        f.rename(format!("{user}-{i}.png"));
    }
    Ok(Meta { user })
}

#[actix_rt::test]
async fn an_unauthorized_caller_is_refused_before_its_file_is_read() {
    let srv = TestServer::start(uplift::router![photos]);
    // A 4 MB file of which only the first 64 KiB is ever sent: the answer must come anyway.
    let boundary = "XyZbOuNdArY";
    let part_head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\
         Content-Type: image/png\r\n\r\n"
    );
    let total = part_head.len() + 4 * 1024 * 1024 + 64;
    let head = format!(
        "POST /api/uploads/photos/multipart HTTP/1.1\r\nHost: {}\r\n\
         Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {total}\r\n\r\n",
        srv.target(&srv.origin)
    );
    let mut body = part_head.into_bytes();
    body.extend_from_slice(&fixtures::png(64 * 1024));
    let mut stream = start_put(&srv, &head, &body).await;
    let resp = tokio::time::timeout(PATIENCE, read_response(&mut stream))
        .await
        .expect("the refusal comes before the body is complete")
        .expect("an answer");
    assert_eq!(resp.status, 401, "{resp:?}");
    assert_eq!(resp.body["error"]["code"], "UNAUTHORIZED");
    drop(stream);
    tokio::time::sleep(Duration::from_millis(100)).await;
    srv.assert_nothing_stored().await;
    srv.assert_no_staged().await;
}

#[actix_rt::test]
async fn the_middleware_sees_the_declared_files_and_names_them() {
    let srv = TestServer::start(uplift::router![photos]);
    let c = client();
    let (a, b) = (fixtures::png(2000), fixtures::png(3000));
    let decls = json!([
        { "name": "one.png", "size": a.len(), "type": "image/png" },
        { "name": "two.png", "size": b.len(), "type": "image/png" },
    ]);
    let form = Form::new()
        .text("files", decls.to_string())
        .part(
            "f",
            Part::bytes(a)
                .file_name("one.png")
                .mime_str("image/png")
                .unwrap(),
        )
        .part(
            "f",
            Part::bytes(b)
                .file_name("two.png")
                .mime_str("image/png")
                .unwrap(),
        );
    let r = Resp::read(
        c.post(format!("{}/photos/multipart", srv.base))
            .header("x-user", "ann")
            .multipart(form)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let body = r.ok();
    assert_eq!(SEEN.load(Ordering::SeqCst), 2);
    let names: Vec<&str> = body["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["file"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ann-0.png", "ann-1.png"]);
}

#[actix_rt::test]
async fn parts_must_match_their_declarations() {
    let srv = TestServer::start(uplift::router![photos]);
    let c = client();
    let a = fixtures::png(2000);
    let send = |decls: Value, parts: Vec<Vec<u8>>| {
        let mut form = Form::new().text("files", decls.to_string());
        for p in parts {
            form = form.part(
                "f",
                Part::bytes(p)
                    .file_name("x.png")
                    .mime_str("image/png")
                    .unwrap(),
            );
        }
        c.post(format!("{}/photos/multipart", srv.base))
            .header("x-user", "ann")
            .multipart(form)
            .send()
    };
    // More bytes than declared, and fewer.
    let r = Resp::read(
        send(
            json!([{ "name": "x.png", "size": 10, "type": "image/png" }]),
            vec![a.clone()],
        )
        .await
        .unwrap(),
    )
    .await;
    r.error(413, "TOO_LARGE");
    let r = Resp::read(
        send(
            json!([{ "name": "x.png", "size": a.len() + 1, "type": "image/png" }]),
            vec![a.clone()],
        )
        .await
        .unwrap(),
    )
    .await;
    r.error(400, "SIZE_MISMATCH");
    // More parts than declared.
    let decl = json!([{ "name": "x.png", "size": a.len(), "type": "image/png" }]);
    let r = Resp::read(
        send(decl.clone(), vec![a.clone(), a.clone()])
            .await
            .unwrap(),
    )
    .await;
    r.error(400, "TOO_MANY_FILES");
    // Fewer parts than declared.
    let two = json!([
        { "name": "x.png", "size": a.len(), "type": "image/png" },
        { "name": "y.png", "size": a.len(), "type": "image/png" },
    ]);
    let r = Resp::read(send(two, vec![a.clone()]).await.unwrap()).await;
    r.error(400, "TOO_FEW_FILES");
    // A declaration the route refuses is refused before any part.
    let r = Resp::read(
        send(
            json!([{ "name": "x.pdf", "size": 10, "type": "application/pdf" }]),
            vec![a],
        )
        .await
        .unwrap(),
    )
    .await;
    r.error(415, "UNSUPPORTED_TYPE");
    srv.assert_nothing_stored().await;
    srv.assert_no_staged().await;
}
