//! The demo as a hostile client finds it: the demo binary on a free port, over real HTTP.
//! Nobody signed in gets 401 from the activity feed and the signing endpoints; a signed-in
//! user sees only the hook activity of their own uploads, and signs uploads only into their
//! own folder, `users/{name}` (another folder is 403, and nothing lands there).

use serde_json::{json, Value};

mod common;
use common::{start, Demo};

/// A 1×1 RGBA PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0a, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae,
    0x42, 0x60, 0x82,
];

/// Status, `content-type` and JSON body.
async fn answer(r: reqwest::RequestBuilder) -> (u16, String, Value) {
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let text = r.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
    (status, ct, body)
}

/// `POST /api/demo/{what}` as `user` (none: anonymous).
async fn sign(
    c: &reqwest::Client,
    demo: &Demo,
    user: Option<&str>,
    what: &str,
    body: Value,
) -> (u16, Value) {
    let mut r = c.post(format!("{}/api/demo/{what}", demo.1)).json(&body);
    if let Some(user) = user {
        r = r.header("x-user", user);
    }
    let (status, _, body) = answer(r).await;
    (status, body)
}

fn code(body: &Value) -> Option<&str> {
    body["error"]["code"].as_str()
}

async fn activity(c: &reqwest::Client, demo: &Demo, user: &str) -> Value {
    let (status, _, body) = answer(
        c.get(format!("{}/api/demo/activity", demo.1))
            .header("x-user", user),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// A profile picture through the route's one-shot multipart endpoint; the route awaits its
/// hook, so the activity event exists when this returns.
async fn upload_picture(c: &reqwest::Client, demo: &Demo, user: &str, name: &str) {
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(PNG.to_vec())
            .file_name(name.to_string())
            .mime_str("image/png")
            .unwrap(),
    );
    let (status, _, body) = answer(
        c.post(format!("{}/api/uploads/profilePicture/multipart", demo.1))
            .header("x-user", user)
            .multipart(form),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["files"][0]["status"], "complete", "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_signed_in_gets_401_from_the_activity_feed_and_the_signing_endpoints() {
    let dir = tempfile::tempdir().unwrap();
    let demo = start(dir.path()).await;
    let c = reqwest::Client::new();
    upload_picture(&c, &demo, "ann", "ann-private.png").await;

    let url = format!("{}/api/demo/activity", demo.1);
    for (what, req) in [
        ("anonymous", c.get(&url)),
        ("a bad name", c.get(&url).header("x-user", "ann smith")),
        (
            "a bad cookie",
            c.get(&url).header("cookie", "uplift_demo_user=../ann"),
        ),
    ] {
        let (status, ct, body) = answer(req).await;
        assert_eq!(status, 401, "{what}: {body}");
        assert!(ct.starts_with("application/json"), "{what}: {ct}");
        assert_eq!(code(&body), Some("UNAUTHORIZED"), "{what}: {body}");
        assert!(body.get("events").is_none(), "{what}: {body}");
        assert!(!body.to_string().contains("ann-private"), "{what}: {body}");
    }

    for what in ["signed-put", "signed-post", "token"] {
        let (status, body) = sign(&c, &demo, None, what, json!({})).await;
        assert_eq!(
            (status, code(&body)),
            (401, Some("UNAUTHORIZED")),
            "{what}: {body}"
        );
        let (status, body) = sign(&c, &demo, None, what, json!({ "dir": "users/ann" })).await;
        assert_eq!(
            (status, code(&body)),
            (401, Some("UNAUTHORIZED")),
            "{what}: {body}"
        );
        // Without a body too: who is asking is settled before anything else.
        let (status, _, body) = answer(c.post(format!("{}/api/demo/{what}", demo.1))).await;
        assert_eq!(
            (status, code(&body)),
            (401, Some("UNAUTHORIZED")),
            "{what}: {body}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_user_sees_only_the_activity_of_their_own_uploads() {
    let dir = tempfile::tempdir().unwrap();
    let demo = start(dir.path()).await;
    let c = reqwest::Client::new();
    upload_picture(&c, &demo, "ann", "ann-holiday.png").await;
    upload_picture(&c, &demo, "bob", "bob-secret.png").await;
    upload_picture(&c, &demo, "anne", "anne-cat.png").await;

    let ann = activity(&c, &demo, "ann").await;
    assert_eq!(ann["user"], "ann");
    let events = ann["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{ann}");
    assert_eq!(events[0]["user"], "ann");
    assert_eq!(events[0]["route"], "profilePicture");
    assert!(events[0]["summary"]
        .as_str()
        .unwrap()
        .contains("ann-holiday.png"));
    let text = ann.to_string();
    for theirs in ["bob", "anne-cat"] {
        assert!(!text.contains(theirs), "ann sees {theirs}: {text}");
    }

    let bob = activity(&c, &demo, "bob").await;
    let events = bob["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{bob}");
    assert_eq!(events[0]["user"], "bob");
    assert!(!bob.to_string().contains("ann"), "bob sees ann: {bob}");

    // The page's cookie is the same user as the header.
    let (status, _, by_cookie) = answer(
        c.get(format!("{}/api/demo/activity", demo.1))
            .header("cookie", "uplift_demo_user=bob"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(by_cookie["events"], bob["events"]);

    // Someone with no uploads sees nothing at all.
    let carol = activity(&c, &demo, "carol").await;
    assert_eq!(carol["events"], json!([]), "{carol}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_signs_uploads_only_into_their_own_folder() {
    let dir = tempfile::tempdir().unwrap();
    let demo = start(dir.path()).await;
    let c = reqwest::Client::new();
    let objects = dir.path().join("files/objects/users");

    // Their own folder: by default, and below it.
    let (status, put) = sign(
        &c,
        &demo,
        Some("ann"),
        "signed-put",
        json!({ "filename": "a.txt" }),
    )
    .await;
    assert_eq!(status, 200, "{put}");
    let url = put["uploadUrl"].as_str().unwrap();
    assert!(
        url.contains("/api/uploads/objects/users/ann/a.txt?"),
        "{url}"
    );
    let r = c.put(url).body("mine").send().await.unwrap();
    assert_eq!(r.status(), 200);
    let env: Value = r.json().await.unwrap();
    assert_eq!(env["data"]["folder"], "users/ann");
    // Private by default: knowing the path is not enough to read it, nor to learn that it
    // exists (unsigned, it answers as a missing file does).
    let r = c
        .get(format!("{}/api/uploads/objects/users/ann/a.txt", demo.1))
        .header("x-user", "bob")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let e: Value = r.json().await.unwrap();
    assert_eq!(code(&e), Some("NOT_FOUND"), "{e}");
    let (status, body) = sign(
        &c,
        &demo,
        Some("ann"),
        "token",
        json!({ "dir": "users/ann/deep" }),
    )
    .await;
    assert_eq!(
        (status, &body["dir"]),
        (200, &json!("users/ann/deep")),
        "{body}"
    );
    let (status, body) = sign(
        &c,
        &demo,
        Some("ann"),
        "signed-post",
        json!({ "dir": "users/ann" }),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // Anyone else's folder, or one that is nobody's, is 403 from every endpoint, and the
    // refusal names the caller's own folder, never the requested one.
    for what in ["signed-put", "signed-post", "token"] {
        for theirs in [
            "users/bob",
            "users/bob/x",
            "users/anne",
            "users",
            "demo",
            "bob",
        ] {
            let (status, body) = sign(&c, &demo, Some("ann"), what, json!({ "dir": theirs })).await;
            assert_eq!(
                (status, code(&body)),
                (403, Some("FORBIDDEN")),
                "{what} {theirs}: {body}"
            );
            assert_eq!(
                body["error"]["data"],
                json!({ "folder": "users/ann" }),
                "{what} {theirs}"
            );
            assert!(
                !body["error"]["message"].as_str().unwrap().contains(theirs) || theirs == "users"
            );
        }
    }

    // Climbing out of the own folder is refused by the server's path rules.
    for (what, body) in [
        ("token", json!({ "dir": "users/ann/../bob" })),
        (
            "signed-put",
            json!({ "dir": "users/ann/../bob", "filename": "x.txt" }),
        ),
        ("signed-put", json!({ "filename": "../bob/x.txt" })),
        ("signed-put", json!({ "filename": "../../users/bob/x.txt" })),
        ("signed-post", json!({ "filename": "../bob/x.txt" })),
        ("signed-post", json!({ "keyPrefix": "../bob/" })),
    ] {
        let (status, e) = sign(&c, &demo, Some("ann"), what, body.clone()).await;
        assert_eq!(
            (status, code(&e)),
            (400, Some("INVALID_PATH")),
            "{what} {body}: {e}"
        );
    }

    // Ann's token does not write into Bob's folder.
    let (status, token) = sign(&c, &demo, Some("ann"), "token", json!({})).await;
    assert_eq!(
        (status, &token["dir"]),
        (200, &json!("users/ann")),
        "{token}"
    );
    let bearer = token["token"].as_str().unwrap();
    for path in ["users/bob/x.txt", "users/anne/x.txt", "users/x.txt"] {
        let r = c
            .put(format!("{}/api/uploads/objects/{path}", demo.1))
            .bearer_auth(bearer)
            .body("not yours")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{path}");
        let e: Value = r.json().await.unwrap();
        assert_eq!(code(&e), Some("TOKEN_SCOPE"), "{path}: {e}");
    }
    let r = c
        .put(format!("{}/api/uploads/objects/users/ann/t.txt", demo.1))
        .bearer_auth(bearer)
        .body("mine")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // Bob's own signing still works, into his folder only; nothing of Ann's is in it.
    let (status, put) = sign(&c, &demo, Some("bob"), "signed-put", json!({})).await;
    assert_eq!(status, 200, "{put}");
    assert!(put["uploadUrl"]
        .as_str()
        .unwrap()
        .contains("/objects/users/bob/"));
    assert!(objects.join("ann/a.txt").is_file());
    assert!(objects.join("ann/t.txt").is_file());
    for theirs in ["bob", "anne"] {
        assert!(
            !objects.join(theirs).exists(),
            "something landed in users/{theirs}"
        );
    }
    assert!(!objects.join("x.txt").exists());
}
