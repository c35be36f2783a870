//! The demo's signed-upload endpoints, as the TypeScript client's tests call them: the demo
//! binary on a free port, `POST /api/demo/signed-put|signed-post|token` as a signed-in user,
//! then the upload each one allows into that user's folder, answered with a file object.
//! (Who may sign for what is in `scoping.rs`.)

use serde_json::{json, Value};

mod common;
use common::{start, Demo};

async fn sign(c: &reqwest::Client, demo: &Demo, what: &str, body: Value) -> (u16, Value) {
    let r = c
        .post(format!("{}/api/demo/{what}", demo.1))
        .header("x-user", "ann")
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_hands_out_urls_forms_and_tokens_that_work() {
    let dir = tempfile::tempdir().unwrap();
    let demo = start(dir.path()).await;
    let c = reqwest::Client::new();

    // The signing endpoints sit beside the page's own `/api/demo/*` endpoints, not over them.
    for path in ["/api/demo/me", "/api/demo/activity"] {
        let r = c
            .get(format!("{}{path}", demo.1))
            .header("x-user", "ann")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
    }

    let (status, put) = sign(
        &c,
        &demo,
        "signed-put",
        json!({ "filename": "a/b.txt", "contentType": "text/plain", "size": 5,
                "metadata": { "k": "v" }, "preventOverwrite": true, "acl": "public-read" }),
    )
    .await;
    assert_eq!(status, 200, "{put}");
    let r = c
        .put(put["uploadUrl"].as_str().unwrap())
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let env: Value = r.json().await.unwrap();
    assert_eq!(env["data"]["folder"], "users/ann/a");
    assert_eq!(env["data"]["metadata"]["k"], "v");
    assert_eq!(env["data"]["id"], put["uploadId"]);
    let got = c
        .get(env["data"]["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(got.text().await.unwrap(), "hello");

    let (status, post) = sign(
        &c,
        &demo,
        "signed-post",
        json!({ "dir": "users/ann/forms", "maxSize": 100 }),
    )
    .await;
    assert_eq!(status, 200, "{post}");
    let mut form = reqwest::multipart::Form::new();
    for (k, v) in post["form"]["fields"].as_object().unwrap() {
        form = form.text(k.clone(), v.as_str().unwrap().to_string());
    }
    form = form.part(
        "file",
        reqwest::multipart::Part::text("form body").file_name("f.txt"),
    );
    let r = c
        .post(post["form"]["url"].as_str().unwrap())
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let env: Value = r.json().await.unwrap();
    assert_eq!(env["data"]["folder"], "users/ann/forms");

    let (status, token) = sign(
        &c,
        &demo,
        "token",
        json!({ "dir": "users/ann/t", "expiresIn": 60 }),
    )
    .await;
    assert_eq!(status, 200, "{token}");
    assert_eq!(token["dir"], "users/ann/t");
    let r = c
        .put(format!("{}/api/uploads/objects/users/ann/t/x.txt", demo.1))
        .bearer_auth(token["token"].as_str().unwrap())
        .body("tok")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // Refusals in the error envelope.
    let (status, e) = sign(&c, &demo, "token", json!({ "dir": "users/ann/../up" })).await;
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (400, Some("INVALID_PATH"))
    );
    let (status, e) = sign(&c, &demo, "signed-put", json!({ "nope": 1 })).await;
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (400, Some("BAD_REQUEST"))
    );
    let (status, e) = sign(&c, &demo, "signed-put", json!({ "expiresIn": 999999999 })).await;
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (400, Some("INVALID_INPUT"))
    );
    // Without a body: the defaults (the user's own folder).
    let r = c
        .post(format!("{}/api/demo/signed-put", demo.1))
        .header("x-user", "ann")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let put: Value = r.json().await.unwrap();
    assert!(put["uploadUrl"]
        .as_str()
        .unwrap()
        .contains("/objects/users/ann/"));
}
