//! Signed POST forms over HTTP: a browser-style multipart POST with the form's fields, then
//! the file; each policy condition broken in turn is refused with `POLICY_VIOLATION` and its
//! `data.condition` (expired policies `EXPIRED`, bad signatures `SIGNATURE_INVALID`), storing
//! nothing and leaving an existing object as it was.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::fixtures::{png, text};
use common::http::{client, Resp};
use common::signed::*;
use common::TestServer;
use uplift::protocol::SignedPost;
use uplift::{PostOptions, SignOptions};

async fn post(
    c: &reqwest::Client,
    signed: &SignedPost,
    edit: impl FnOnce(&mut BTreeMap<String, String>),
    file: (&str, &str, Vec<u8>),
) -> Resp {
    let mut fields = signed.form.fields.clone();
    edit(&mut fields);
    let mut form = reqwest::multipart::Form::new();
    for (k, v) in fields {
        form = form.text(k, v);
    }
    let (name, ty, bytes) = file;
    form = form.part(
        "file",
        reqwest::multipart::Part::bytes(bytes)
            .file_name(name.to_string())
            .mime_str(ty)
            .unwrap(),
    );
    Resp::read(
        c.post(&signed.form.url)
            .multipart(form)
            .send()
            .await
            .unwrap(),
    )
    .await
}

fn prefixed() -> PostOptions {
    PostOptions {
        sign: SignOptions {
            metadata: BTreeMap::from([("album".into(), "summer".into())]),
            ..Default::default()
        },
        key_prefix: Some("user-1/".into()),
        content_length_range: Some((10, 1000)),
        content_type_prefix: Some("image/".into()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_with_a_key_prefix_stores_the_browser_s_file_name() {
    let srv = TestServer::start(uplift::Router::new());
    let c = client();
    let signed = srv
        .signed
        .get_signed_post_with("uploads", &prefixed())
        .unwrap();
    assert_eq!(signed.form.url, format!("{}/objects", srv.base));
    assert_eq!(signed.form.fields["key"], "uploads/user-1/${filename}");
    assert_eq!(signed.form.fields["x-uplift-meta-album"], "summer");
    let r = post(&c, &signed, |_| {}, ("pic.png", "image/png", png(200))).await;
    let f = file_of(&r);
    assert_eq!(f["id"], signed.upload_id.as_str());
    assert_eq!(
        (f["folder"].as_str(), f["filename"].as_str()),
        (Some("uploads/user-1"), Some("pic.png"))
    );
    assert_eq!(f["metadata"]["album"], "summer");
    assert_eq!(
        (f["width"].as_u64(), f["height"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(
        objects(&srv),
        vec![("uploads/user-1/pic.png".to_string(), png(200))]
    );
    // One-time by default.
    let again = post(&c, &signed, |_| {}, ("pic2.png", "image/png", png(200))).await;
    refused(&again, 409, "ALREADY_USED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_broken_condition_is_refused_and_nothing_is_stored() {
    let srv = TestServer::start(uplift::Router::new());
    let c = client();
    // The object the refusals must leave alone.
    let exact = srv
        .signed
        .get_signed_post_with(
            "uploads",
            &PostOptions {
                sign: SignOptions {
                    filename: Some("user-1/keep.png".into()),
                    ..Default::default()
                },
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(exact.form.fields["key"], "uploads/user-1/keep.png");
    file_of(&post(&c, &exact, |_| {}, ("keep.png", "image/png", png(100))).await);
    assert_eq!(objects(&srv).len(), 1);

    type Edit = Box<dyn FnOnce(&mut BTreeMap<String, String>)>;
    // (what, edit of the fields, file (name, type, bytes), status, code, condition)
    type File<'a> = (&'a str, &'a str, Vec<u8>);
    type Case<'a> = (&'a str, Edit, File<'a>, u16, &'a str, Option<&'a str>);
    let cases: Vec<Case> = vec![
        (
            "key outside the prefix",
            Box::new(|f| {
                f.insert("key".into(), "uploads/user-2/${filename}".into());
            }),
            ("a.png", "image/png", png(100)),
            403,
            "POLICY_VIOLATION",
            Some("key-prefix"),
        ),
        (
            "key that traverses",
            Box::new(|f| {
                f.insert("key".into(), "uploads/user-1/../../etc/x".into());
            }),
            ("a.png", "image/png", png(100)),
            400,
            "INVALID_PATH",
            None,
        ),
        (
            "a file name that traverses",
            Box::new(|_| {}),
            ("..", "image/png", png(100)),
            400,
            "INVALID_PATH",
            None,
        ),
        (
            "too large for content-length-range",
            Box::new(|_| {}),
            ("a.png", "image/png", png(1001)),
            403,
            "POLICY_VIOLATION",
            Some("content-length-range"),
        ),
        (
            "too small for content-length-range",
            Box::new(|_| {}),
            ("a.png", "image/png", png(67).into_iter().take(9).collect()),
            403,
            "POLICY_VIOLATION",
            Some("content-length-range"),
        ),
        (
            "type outside the prefix",
            Box::new(|_| {}),
            ("a.txt", "text/plain", text(100)),
            403,
            "POLICY_VIOLATION",
            Some("content-type-prefix"),
        ),
        (
            "changed metadata",
            Box::new(|f| {
                f.insert("x-uplift-meta-album".into(), "winter".into());
            }),
            ("a.png", "image/png", png(100)),
            403,
            "POLICY_VIOLATION",
            Some("metadata"),
        ),
        (
            "added metadata",
            Box::new(|f| {
                f.insert("x-uplift-meta-extra".into(), "1".into());
            }),
            ("a.png", "image/png", png(100)),
            403,
            "POLICY_VIOLATION",
            Some("metadata"),
        ),
        (
            "bad signature",
            Box::new(|f| {
                f.insert("signature".into(), "k1.AAAA".into());
            }),
            ("a.png", "image/png", png(100)),
            403,
            "SIGNATURE_INVALID",
            None,
        ),
        (
            "edited policy",
            Box::new(|f| {
                let p = f["policy"].clone();
                f.insert("policy".into(), format!("{p}x"));
            }),
            ("a.png", "image/png", png(100)),
            403,
            "SIGNATURE_INVALID",
            None,
        ),
        (
            "no policy",
            Box::new(|f| {
                f.remove("policy");
            }),
            ("a.png", "image/png", png(100)),
            403,
            "SIGNATURE_INVALID",
            None,
        ),
        (
            "bytes that contradict the type",
            Box::new(|_| {}),
            ("a.png", "image/png", text(100)),
            415,
            "UNSUPPORTED_TYPE",
            None,
        ),
    ];
    for (what, edit, file, status, code, condition) in cases {
        // A fresh form per case: each is one-time.
        let signed = srv
            .signed
            .get_signed_post_with("uploads", &prefixed())
            .unwrap();
        let r = post(&c, &signed, edit, file).await;
        assert_eq!(
            r.status,
            status,
            "{what}: {}",
            String::from_utf8_lossy(&r.bytes)
        );
        let e = refused(&r, status, code);
        if let Some(condition) = condition {
            assert_eq!(e["data"]["condition"], condition, "{what}");
        }
        srv.assert_no_staged().await;
        let now = objects(&srv);
        assert!(
            now.iter().all(|(p, _)| p == "uploads/user-1/keep.png"),
            "{what} stored something: {now:?}"
        );
    }

    // An exact key may not be changed at all; with prevent_overwrite an existing key is 412.
    // Forms are one-time: each attempt gets its own.
    let keep_form = |content_type: Option<&str>| {
        srv.signed
            .get_signed_post_with(
                "uploads",
                &PostOptions {
                    sign: SignOptions {
                        filename: Some("user-1/keep.png".into()),
                        prevent_overwrite: true,
                        content_type: content_type.map(Into::into),
                        ..Default::default()
                    },
                    ..Default::default()
                },
            )
            .unwrap()
    };
    let r = post(
        &c,
        &keep_form(Some("image/png")),
        |f| {
            f.insert("key".into(), "uploads/user-1/other.png".into());
        },
        ("a.png", "image/png", png(100)),
    )
    .await;
    assert_eq!(
        refused(&r, 403, "POLICY_VIOLATION")["data"]["condition"],
        "key"
    );
    let r = post(
        &c,
        &keep_form(Some("image/png")),
        |f| {
            f.insert("Content-Type".into(), "image/jpeg".into());
        },
        ("a.png", "image/jpeg", png(100)),
    )
    .await;
    assert_eq!(
        refused(&r, 403, "POLICY_VIOLATION")["data"]["condition"],
        "content-type"
    );
    let fixed3 = keep_form(None);
    let r = post(&c, &fixed3, |_| {}, ("a.png", "image/png", png(150))).await;
    refused(&r, 412, "PRECONDITION_FAILED");
    let kept = objects(&srv);
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].0, "uploads/user-1/keep.png");

    // Expired policy.
    let short = srv
        .signed
        .get_signed_post_with(
            "uploads",
            &PostOptions {
                sign: SignOptions {
                    expires_in: Duration::from_secs(1),
                    ..Default::default()
                },
                ..prefixed()
            },
        )
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let r = post(&c, &short, |_| {}, ("late.png", "image/png", png(100))).await;
    refused(&r, 410, "EXPIRED");
    assert_eq!(objects(&srv).len(), 1);
    srv.assert_no_staged().await;
}
