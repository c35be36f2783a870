//! Signed uploads straight to the bucket (`SignOptions::direct`, `S3Storage` on a real
//! S3-compatible store, Garage in CI; skipped with a note when `UPLIFT_S3_*` is unset unless
//! `UPLIFT_REQUIRE_S3=1`): `get_signed_put` hands out the bucket's presigned PUT and
//! `get_signed_post` an S3 POST Object form; the bucket enforces what it can (type, exact size,
//! SHA-256, a policy's size range and type start), the completion URL reads the file back
//! through Uplift's own checks and promotes it. Refused files leave nothing in the bucket and
//! nothing readable; a file no client completed goes with the sweep.
#![cfg(feature = "s3")]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::fixtures::{sha256_hex, text};
use common::http::{client, Resp};
use common::signed::{file_of, png_sized, refused};
use common::{s3_available, Backend, Options, TestServer};
use uplift::protocol::{SignedPost, SignedPut};
use uplift::{Limits, PostOptions, SignOptions, SizeRule};

fn server_with(configure: fn(uplift::UpliftBuilder) -> uplift::UpliftBuilder) -> TestServer {
    TestServer::start_with(
        uplift::Router::new(),
        Options {
            storage: Backend::S3,
            configure: Box::new(configure),
            ..Options::default()
        },
    )
}

fn server() -> TestServer {
    server_with(|b| b)
}

fn direct(filename: &str) -> SignOptions {
    SignOptions {
        filename: Some(filename.into()),
        direct: true,
        ..Default::default()
    }
}

/// The names in the bucket's inbox.
async fn inbox(srv: &TestServer) -> Vec<String> {
    let storage = srv.storage();
    let store = storage.as_direct().expect("S3 takes direct uploads");
    store.list_inbox("", 100).await.expect("list the inbox")
}

/// A `PUT` straight to the bucket with the signed headers (and `extra` ones over them).
async fn put_to_bucket(
    c: &reqwest::Client,
    signed: &SignedPut,
    body: Vec<u8>,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let mut rb = c.put(&signed.upload_url);
    let mut headers: BTreeMap<String, String> = signed.headers.clone();
    for (k, v) in extra {
        headers.insert(k.to_string(), v.to_string());
    }
    for (k, v) in &headers {
        rb = rb.header(k, v);
    }
    // A bucket closes the connection after refusing a body it did not read: no reuse.
    rb.header("connection", "close")
        .body(body)
        .send()
        .await
        .expect("PUT to the bucket")
}

/// A form POST straight to the bucket: the fields, then `file` named `filename`.
async fn post_to_bucket(
    c: &reqwest::Client,
    signed: &SignedPost,
    extra: &[(&str, &str)],
    filename: &str,
    body: Vec<u8>,
) -> reqwest::Response {
    let mut fields = signed.form.fields.clone();
    for (k, v) in extra {
        fields.insert(k.to_string(), v.to_string());
    }
    let mut form = reqwest::multipart::Form::new();
    for (k, v) in fields {
        form = form.text(k, v);
    }
    let part = reqwest::multipart::Part::bytes(body).file_name(filename.to_string());
    form = form.part("file", part);
    // A bucket closes the connection after refusing a body it did not read: no reuse.
    c.post(&signed.form.url)
        .header("connection", "close")
        .multipart(form)
        .send()
        .await
        .expect("POST to the bucket")
}

async fn complete(c: &reqwest::Client, url: &Option<String>) -> Resp {
    let url = url.as_deref().expect("a completion URL");
    Resp::read(c.post(url).send().await.expect("complete")).await
}

/// What a download of a stored file gives, following the redirect to the bucket.
async fn download(c: &reqwest::Client, url: &str) -> (u16, Vec<u8>) {
    let r = c.get(url).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.bytes().await.unwrap().to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_direct_put_goes_to_the_bucket_and_is_stored_once_checked() {
    if !s3_available() {
        return;
    }
    let srv = server();
    let c = client();
    let png = png_sized(320, 200, 3000);
    let opts = SignOptions {
        content_type: Some("image/png".into()),
        size: Some(SizeRule::Exact(png.len() as u64)),
        sha256: Some(sha256_hex(&png)),
        metadata: BTreeMap::from([("album".to_string(), "cats".to_string())]),
        ..direct("tom.png")
    };
    let signed = srv.signed.get_signed_put_with("media/ann", &opts).unwrap();
    let endpoint = std::env::var("UPLIFT_S3_ENDPOINT").unwrap();
    assert!(signed.upload_url.starts_with(&endpoint), "{signed:?}");
    assert!(signed.upload_url.contains("/inbox/"), "{signed:?}");
    let complete_url = signed.complete_url.clone().unwrap();
    assert!(complete_url.starts_with(&format!("{}/objects?policy=", srv.base)));
    assert_eq!(signed.headers["content-type"], "image/png");
    assert!(signed.headers.contains_key("x-amz-checksum-sha256"));

    // Completing before the bytes arrived changes nothing: the one-time id is not spent.
    let early = complete(&c, &signed.complete_url).await;
    let e = refused(&early, 409, "CONFLICT");
    assert!(e["message"]
        .as_str()
        .unwrap()
        .contains("not in the storage bucket"));

    let r = put_to_bucket(&c, &signed, png.clone(), &[]).await;
    assert_eq!(r.status(), 200);
    assert_eq!(inbox(&srv).await.len(), 1);
    // In the inbox, nothing is readable through Uplift.
    let unsigned = format!("{}/objects/media/ann/tom.png", srv.base);
    assert_eq!(c.get(&unsigned).send().await.unwrap().status(), 404);

    let f = file_of(&complete(&c, &signed.complete_url).await);
    assert_eq!(f["id"], signed.upload_id.as_str());
    assert_eq!(
        (f["folder"].as_str(), f["filename"].as_str()),
        (Some("media/ann"), Some("tom.png"))
    );
    assert_eq!(f["type"], "image/png");
    assert_eq!(
        (f["width"].as_u64(), f["height"].as_u64()),
        (Some(320), Some(200))
    );
    assert_eq!(f["filesize"], png.len());
    assert_eq!(f["sha256"], sha256_hex(&png));
    assert_eq!(f["crc32"], crc32fast::hash(&png));
    assert_eq!(f["metadata"]["album"], "cats");
    assert!(inbox(&srv).await.is_empty(), "promoted out of the inbox");
    assert_eq!(
        download(&c, f["url"].as_str().unwrap()).await,
        (200, png.clone())
    );

    // Called again (its answer lost): the same file, not a refusal.
    let again = file_of(&complete(&c, &signed.complete_url).await);
    assert_eq!(again["sha256"], f["sha256"]);
    // The bucket URL works until it expires, but what it sends again is not stored: the
    // one-time id is spent, and the inbox is emptied.
    assert_eq!(
        put_to_bucket(&c, &signed, png.clone(), &[]).await.status(),
        200
    );
    assert_eq!(inbox(&srv).await.len(), 1);
    refused(
        &complete(&c, &signed.complete_url).await,
        409,
        "ALREADY_USED",
    );
    assert!(inbox(&srv).await.is_empty());
    assert_eq!(download(&c, f["url"].as_str().unwrap()).await, (200, png));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bucket_refuses_what_a_direct_put_binds() {
    if !s3_available() {
        return;
    }
    let srv = server();
    let c = client();
    let body = text(4000);
    let opts = SignOptions {
        content_type: Some("text/plain".into()),
        size: Some(SizeRule::Exact(body.len() as u64)),
        sha256: Some(sha256_hex(&body)),
        ..direct("notes.txt")
    };
    let signed = srv.signed.get_signed_put_with("docs", &opts).unwrap();
    // Another type than the signed one.
    let r = put_to_bucket(&c, &signed, body.clone(), &[("content-type", "text/html")]).await;
    assert_eq!(r.status(), 403);
    // Another length.
    let r = put_to_bucket(&c, &signed, text(3999), &[]).await;
    assert!(matches!(r.status().as_u16(), 400 | 403), "{}", r.status());
    // Other bytes of the same length: the checksum.
    let mut other = body.clone();
    other[0] ^= 1;
    let r = put_to_bucket(&c, &signed, other, &[]).await;
    assert_eq!(r.status(), 400);
    // A tampered signature.
    let mut tampered = signed.clone();
    let at = tampered.upload_url.find("X-Amz-Signature=").unwrap() + 16;
    let flip = if &tampered.upload_url[at..at + 1] == "0" {
        "1"
    } else {
        "0"
    };
    tampered.upload_url.replace_range(at..at + 1, flip);
    assert_eq!(
        put_to_bucket(&c, &tampered, body.clone(), &[])
            .await
            .status(),
        403
    );
    assert!(
        inbox(&srv).await.is_empty(),
        "the bucket kept nothing it refused"
    );

    // An expired URL.
    let short = SignOptions {
        expires_in: Duration::from_secs(1),
        ..direct("late.txt")
    };
    let late = srv.signed.get_signed_put_with("docs", &short).unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    // AWS answers 403, Garage 400 (`InvalidRequest`, "Date is too old").
    let r = put_to_bucket(&c, &late, body, &[]).await;
    assert!(matches!(r.status().as_u16(), 400 | 403), "{}", r.status());
    assert!(inbox(&srv).await.is_empty());
    refused(&complete(&c, &late.complete_url).await, 409, "CONFLICT");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completion_refuses_what_the_bucket_cannot_check_and_empties_the_inbox() {
    if !s3_available() {
        return;
    }
    let srv = server();
    let c = client();

    // The declared type is a lie the bucket cannot see: the sniffed bytes are HTML.
    let html = b"<!DOCTYPE html><html><script>alert(1)</script></html>".to_vec();
    let lie = SignOptions {
        content_type: Some("image/png".into()),
        ..direct("fake.png")
    };
    let signed = srv.signed.get_signed_put_with("media", &lie).unwrap();
    assert_eq!(put_to_bucket(&c, &signed, html, &[]).await.status(), 200);
    refused(
        &complete(&c, &signed.complete_url).await,
        415,
        "UNSUPPORTED_TYPE",
    );
    assert!(inbox(&srv).await.is_empty());

    // A size range: a PUT cannot bind one, the completion checks it.
    let ranged = SignOptions {
        size: Some(SizeRule::Range(10, 20)),
        ..direct("ranged.txt")
    };
    for (len, status, code) in [(30, 413, "TOO_LARGE"), (5, 400, "TOO_SMALL")] {
        let signed = srv.signed.get_signed_put_with("media", &ranged).unwrap();
        assert_eq!(
            put_to_bucket(&c, &signed, text(len), &[]).await.status(),
            200
        );
        refused(&complete(&c, &signed.complete_url).await, status, code);
    }
    assert!(inbox(&srv).await.is_empty());

    // A CRC32 the bucket does not know of.
    let body = text(100);
    let crc = SignOptions {
        crc32: Some(crc32fast::hash(&body) ^ 1),
        ..direct("crc.txt")
    };
    let signed = srv.signed.get_signed_put_with("media", &crc).unwrap();
    assert_eq!(put_to_bucket(&c, &signed, body, &[]).await.status(), 200);
    refused(
        &complete(&c, &signed.complete_url).await,
        400,
        "CHECKSUM_MISMATCH",
    );

    // A completion URL changed in any way.
    let signed = srv
        .signed
        .get_signed_put_with("media", &direct("t.txt"))
        .unwrap();
    assert_eq!(
        put_to_bucket(&c, &signed, text(10), &[]).await.status(),
        200
    );
    let url = signed.complete_url.clone().unwrap();
    let forged = url.replace("signature=", "signature=x");
    refused(&complete(&c, &Some(forged)).await, 403, "SIGNATURE_INVALID");
    let no_query = url.split('?').next().unwrap().to_string() + "?policy=abc";
    refused(
        &complete(&c, &Some(no_query)).await,
        403,
        "SIGNATURE_INVALID",
    );

    // Nothing of the refused files is stored anywhere.
    assert!(common::signed::object_paths(&srv).is_empty());
    let f = file_of(&complete(&c, &signed.complete_url).await);
    assert_eq!(f["filename"], "t.txt");
    assert_eq!(common::signed::object_paths(&srv), vec!["media/t.txt"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prevent_overwrite_holds_and_a_replacing_put_swaps_the_bytes() {
    if !s3_available() {
        return;
    }
    let srv = server();
    let c = client();
    let first = srv
        .signed
        .get_signed_put_with("d", &direct("a.txt"))
        .unwrap();
    assert_eq!(put_to_bucket(&c, &first, text(50), &[]).await.status(), 200);
    let f = file_of(&complete(&c, &first.complete_url).await);

    let keep = SignOptions {
        prevent_overwrite: true,
        ..direct("a.txt")
    };
    let second = srv.signed.get_signed_put_with("d", &keep).unwrap();
    assert!(!second.headers.contains_key("If-None-Match"));
    assert_eq!(
        put_to_bucket(&c, &second, text(60), &[]).await.status(),
        200
    );
    refused(
        &complete(&c, &second.complete_url).await,
        412,
        "PRECONDITION_FAILED",
    );
    assert!(inbox(&srv).await.is_empty());
    let signed_get = srv
        .signed
        .get_signed_url("d/a.txt", Duration::from_secs(60))
        .unwrap();
    assert_eq!(download(&c, &signed_get).await, (200, text(50)));

    let replace = srv
        .signed
        .get_signed_put_with("d", &direct("a.txt"))
        .unwrap();
    let newer = b"the newer bytes".to_vec();
    assert_eq!(
        put_to_bucket(&c, &replace, newer.clone(), &[])
            .await
            .status(),
        200
    );
    let g = file_of(&complete(&c, &replace.complete_url).await);
    assert_eq!(g["sha256"], sha256_hex(&newer));
    assert_ne!(g["sha256"], f["sha256"]);
    assert_eq!(download(&c, &signed_get).await, (200, newer));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_direct_form_posts_to_the_bucket_under_a_name_the_browser_chose() {
    if !s3_available() {
        return;
    }
    let srv = server();
    let c = client();
    let opts = PostOptions {
        sign: SignOptions {
            direct: true,
            metadata: BTreeMap::from([("by".to_string(), "ann".to_string())]),
            ..Default::default()
        },
        key_prefix: Some("photos/".into()),
        content_length_range: Some((10, 10_000)),
        content_type_prefix: Some("image/".into()),
    };
    let signed = srv.signed.get_signed_post_with("users/ann", &opts).unwrap();
    let endpoint = std::env::var("UPLIFT_S3_ENDPOINT").unwrap();
    assert!(signed.form.url.starts_with(&endpoint), "{signed:?}");
    assert!(signed.form.fields["key"].ends_with("/${filename}"));
    assert!(!signed.form.fields.contains_key("Content-Type"));

    // The bucket enforces the policy: the size range, the type's start.
    let big = png_sized(2, 2, 20_000);
    let r = post_to_bucket(
        &c,
        &signed,
        &[("Content-Type", "image/png")],
        "big.png",
        big,
    )
    .await;
    assert!(matches!(r.status().as_u16(), 400 | 403), "{}", r.status());
    let r = post_to_bucket(
        &c,
        &signed,
        &[("Content-Type", "text/html")],
        "x.png",
        text(100),
    )
    .await;
    assert!(matches!(r.status().as_u16(), 400 | 403), "{}", r.status());
    // A field the policy does not name.
    let r = post_to_bucket(
        &c,
        &signed,
        &[("Content-Type", "image/png"), ("x-amz-meta-evil", "1")],
        "x.png",
        png_sized(2, 2, 100),
    )
    .await;
    assert!(matches!(r.status().as_u16(), 400 | 403), "{}", r.status());
    assert!(inbox(&srv).await.is_empty());

    let png = png_sized(64, 32, 2000);
    let r = post_to_bucket(
        &c,
        &signed,
        &[("Content-Type", "image/png")],
        "cat.png",
        png.clone(),
    )
    .await;
    assert!(r.status().is_success(), "{}", r.status());
    let f = file_of(&complete(&c, &signed.complete_url).await);
    assert_eq!(f["folder"], "users/ann/photos");
    assert_eq!(f["filename"], "cat.png");
    assert_eq!(f["type"], "image/png");
    assert_eq!(f["width"], 64);
    assert_eq!(f["metadata"]["by"], "ann");
    assert_eq!(f["sha256"], sha256_hex(&png));
    assert!(inbox(&srv).await.is_empty());
    // Spent: the browser's name is not known from the policy, so a second call is a conflict.
    refused(&complete(&c, &signed.complete_url).await, 409, "CONFLICT");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_direct_form_with_a_fixed_key_and_type_and_its_refusals() {
    if !s3_available() {
        return;
    }
    let srv = server();
    let c = client();
    let opts = PostOptions {
        sign: SignOptions {
            content_type: Some("image/png".into()),
            ..direct("logo.png")
        },
        ..Default::default()
    };
    // A name that tries to leave the folder is refused before anything is signed.
    let escape = PostOptions {
        key_prefix: Some("../".into()),
        ..opts.clone()
    };
    assert!(srv.signed.get_signed_post_with("brand", &escape).is_err());

    let signed = srv.signed.get_signed_post_with("brand", &opts).unwrap();
    assert_eq!(signed.form.fields["Content-Type"], "image/png");
    // PNG declared, HTML sent: the bucket cannot tell, the completion does.
    let r = post_to_bucket(
        &c,
        &signed,
        &[],
        "logo.png",
        b"<html><body>hi</body></html>".to_vec(),
    )
    .await;
    assert!(r.status().is_success(), "{}", r.status());
    refused(
        &complete(&c, &signed.complete_url).await,
        415,
        "UNSUPPORTED_TYPE",
    );
    assert!(inbox(&srv).await.is_empty());
    assert!(common::signed::object_paths(&srv).is_empty());

    let signed = srv.signed.get_signed_post_with("brand", &opts).unwrap();
    let png = png_sized(10, 10, 500);
    let r = post_to_bucket(&c, &signed, &[], "whatever.png", png.clone()).await;
    assert!(r.status().is_success(), "{}", r.status());
    let f = file_of(&complete(&c, &signed.complete_url).await);
    assert_eq!(
        (f["folder"].as_str(), f["filename"].as_str()),
        (Some("brand"), Some("logo.png"))
    );
    // Its key was fixed: a repeated completion answers the stored file.
    assert_eq!(
        file_of(&complete(&c, &signed.complete_url).await)["sha256"],
        sha256_hex(&png)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweep_removes_inbox_objects_no_client_completed() {
    if !s3_available() {
        return;
    }
    let srv = server_with(|b| {
        b.limits(Limits {
            stale_upload_after: Duration::from_secs(1),
            orphan_grace: Duration::from_secs(1),
            ..Limits::default()
        })
    });
    let c = client();
    // Expiries are whole seconds: a 1 s URL can have only milliseconds left when it is used.
    let opts = SignOptions {
        expires_in: Duration::from_secs(2),
        ..direct("left.txt")
    };
    let signed = srv.signed.get_signed_put_with("d", &opts).unwrap();
    assert_eq!(
        put_to_bucket(&c, &signed, text(10), &[]).await.status(),
        200
    );
    let kept = srv
        .signed
        .get_signed_put_with("d", &direct("kept.txt"))
        .unwrap();
    assert_eq!(put_to_bucket(&c, &kept, text(10), &[]).await.status(), 200);
    let report = srv.up.sweep().await.unwrap();
    assert_eq!(report.inbox_removed, 0, "{report:?}");
    assert_eq!(inbox(&srv).await.len(), 2);
    // Upload URL (2 s) + completion window (1 s) + grace (1 s), in whole seconds, then a sweep.
    tokio::time::sleep(Duration::from_millis(5200)).await;
    let report = srv.up.sweep().await.unwrap();
    assert_eq!(report.inbox_removed, 1, "{report:?}");
    assert_eq!(inbox(&srv).await.len(), 1, "the one still in time stays");
    refused(&complete(&c, &signed.complete_url).await, 410, "EXPIRED");
    file_of(&complete(&c, &kept.complete_url).await);
}

/// Where the store has no inbox, or takes no forms, `direct` changes nothing: the URL and
/// the form are Uplift's own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_bucket_direct_signing_falls_back_to_the_server() {
    let local = TestServer::start(uplift::Router::new());
    let put = local
        .signed
        .get_signed_put_with("d", &direct("a.txt"))
        .unwrap();
    assert!(put.complete_url.is_none());
    assert!(put
        .upload_url
        .starts_with(&format!("{}/objects/d/a.txt?", local.base)));
    let post = local
        .signed
        .get_signed_post_with(
            "d",
            &PostOptions {
                sign: direct("a.txt"),
                ..Default::default()
            },
        )
        .unwrap();
    assert!(post.complete_url.is_none());
    assert_eq!(post.form.url, format!("{}/objects", local.base));
    let r = common::http::put(&client(), &put.upload_url, Some("text/plain"), text(10)).await;
    file_of(&r);

    if !s3_available() {
        return;
    }
    let no_forms = TestServer::start_with(
        uplift::Router::new(),
        Options {
            storage: Backend::S3,
            s3_config: Some(common::s3_config().post_object(false)),
            ..Options::default()
        },
    );
    let post = no_forms
        .signed
        .get_signed_post_with(
            "d",
            &PostOptions {
                sign: direct("a.txt"),
                ..Default::default()
            },
        )
        .unwrap();
    assert!(
        post.complete_url.is_none(),
        "R2-like stores take forms through the server"
    );
    assert!(no_forms
        .signed
        .get_signed_put_with("d", &direct("a.txt"))
        .unwrap()
        .complete_url
        .is_some());
}

/// The Rust client (and so the CLI) sends to the bucket, completes, and reports the bucket's
/// refusals in Uplift's codes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rust_client_completes_direct_uploads_and_names_bucket_refusals() {
    if !s3_available() {
        return;
    }
    let srv = server();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("photo.png");
    let png = png_sized(8, 8, 1200);
    std::fs::write(&file, &png).unwrap();

    let opts = SignOptions {
        sha256: Some(sha256_hex(&png)),
        ..direct("photo.png")
    };
    let put = srv.signed.get_signed_put_with("c", &opts).unwrap();
    let stored = uplift::client::upload_signed_put(&put, &file)
        .await
        .unwrap();
    assert_eq!(
        (stored.folder.as_str(), stored.content_type.as_str()),
        ("c", "image/png")
    );
    assert_eq!(stored.sha256, sha256_hex(&png));

    let form = PostOptions {
        sign: SignOptions {
            direct: true,
            ..Default::default()
        },
        key_prefix: Some(String::new()),
        content_type_prefix: Some("image/".into()),
        ..Default::default()
    };
    let post = srv.signed.get_signed_post_with("c/forms", &form).unwrap();
    let stored = uplift::client::upload_signed_post(&post, &file)
        .await
        .unwrap();
    assert_eq!(
        (stored.folder.as_str(), stored.filename.as_str()),
        ("c/forms", "photo.png")
    );

    // Bytes that are not the signed SHA-256.
    let wrong = SignOptions {
        sha256: Some(sha256_hex(b"other")),
        ..direct("wrong.png")
    };
    let put = srv.signed.get_signed_put_with("c", &wrong).unwrap();
    let e = uplift::client::upload_signed_put(&put, &file)
        .await
        .unwrap_err();
    assert_eq!(
        e.body().unwrap().code,
        uplift::ErrorCode::ChecksumMismatch,
        "{e}"
    );
    // An expired URL.
    let late = SignOptions {
        expires_in: Duration::from_secs(1),
        ..direct("late.png")
    };
    let put = srv.signed.get_signed_put_with("c", &late).unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let e = uplift::client::upload_signed_put(&put, &file)
        .await
        .unwrap_err();
    assert_eq!(
        e.body().unwrap().code,
        uplift::ErrorCode::SignatureInvalid,
        "{e}"
    );
    // A form whose type the policy does not allow.
    let post = srv.signed.get_signed_post_with("c/forms", &form).unwrap();
    let e = uplift::client::Uploader::new()
        .content_type("text/plain")
        .post_signed(&post, &file)
        .await
        .unwrap_err();
    assert_eq!(
        e.body().unwrap().code,
        uplift::ErrorCode::PolicyViolation,
        "{e}"
    );
    assert!(inbox(&srv).await.is_empty());
}
