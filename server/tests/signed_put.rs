//! Signed PUT URLs over real HTTP: the ittybit flow (a folder, a file name, a file object with
//! the image's dimensions), the Amplify flow (type, metadata, checksums, prevent_overwrite),
//! and every refusal — each leaving nothing stored and an existing object unharmed.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::fixtures::{sha256_hex, text, PNG_1X1};
use common::http::{client, put, with_query, Resp};
use common::signed::*;
use common::TestServer;
use uplift::{Acl, ErrorCode, SignOptions, SizeRule};

fn server() -> TestServer {
    TestServer::start(uplift::Router::new())
}

fn opts(filename: &str) -> SignOptions {
    SignOptions {
        filename: Some(filename.into()),
        ..Default::default()
    }
}

async fn get(c: &reqwest::Client, url: &str) -> Resp {
    Resp::read(c.get(url).send().await.unwrap()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ittybit_flow_nested_folders_and_a_file_object_with_dimensions() {
    let srv = server();
    let c = client();
    let png = png_sized(640, 480, 2048);
    let signed = srv
        .signed
        .get_signed_put_with("media/2026", &opts("cats/tom.png"))
        .unwrap();
    assert!(signed
        .upload_url
        .starts_with(&format!("{}/objects/media/2026/cats/tom.png?", srv.base)));
    assert!(signed.upload_url.contains("expiry=") && signed.upload_url.contains("signature=k1."));

    let r = put(&c, &signed.upload_url, Some("image/png"), png.clone()).await;
    let f = file_of(&r);
    assert_eq!(f["id"], signed.upload_id.as_str());
    assert_eq!(f["kind"], "image");
    assert_eq!(f["type"], "image/png");
    assert_eq!(
        (f["width"].as_u64(), f["height"].as_u64()),
        (Some(640), Some(480))
    );
    assert_eq!(f["filesize"], 2048);
    assert_eq!(f["folder"], "media/2026/cats");
    assert_eq!(f["filename"], "tom.png");
    assert_eq!(f["sha256"], sha256_hex(&png));
    assert_eq!(f["crc32"], crc32fast::hash(&png));
    assert_eq!(f["acl"], "private");
    assert!(f["created"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        objects(&srv),
        vec![("media/2026/cats/tom.png".to_string(), png.clone())]
    );

    // Private: the file object's URL is signed; the bare URL answers as an unknown path does.
    let url = f["url"].as_str().unwrap();
    let got = get(&c, url).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.bytes, png);
    assert_eq!(got.header("content-type").as_deref(), Some("image/png"));
    assert!(got.header("etag").is_some());
    assert!(got
        .header("content-disposition")
        .unwrap()
        .contains("tom.png"));
    let bare = url.split('?').next().unwrap();
    let denied = get(&c, bare).await;
    common::http::assert_error(denied.status, &denied.json(), 404, "NOT_FOUND");
    let ranged = Resp::read(
        c.get(url)
            .header("range", "bytes=0-7")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(ranged.status, 206);
    assert_eq!(ranged.bytes, &png[..8]);
    let head = Resp::read(c.head(url).send().await.unwrap()).await;
    assert_eq!(head.status, 200);
    assert!(head.bytes.is_empty());

    // get_signed_url mints the same kind of GET URL on demand.
    let again = srv
        .signed
        .get_signed_url("media/2026/cats/tom.png", Duration::from_secs(60))
        .unwrap();
    assert_eq!(get(&c, &again).await.bytes, png);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jpeg_dimensions_come_from_its_frame_header_and_a_default_name_is_the_id() {
    let srv = server();
    let c = client();
    let jpg = jpeg_sized(1920, 1080, 4096);
    let signed = srv.signed.get_signed_put("photos").unwrap();
    let f = file_of(&put(&c, &signed.upload_url, Some("image/jpeg"), jpg).await);
    assert_eq!(
        (f["width"].as_u64(), f["height"].as_u64()),
        (Some(1920), Some(1080))
    );
    assert_eq!(f["filename"], signed.upload_id.as_str());
    assert_eq!(f["folder"], "photos");
    // Not an image: no dimensions.
    let signed = srv
        .signed
        .get_signed_put_with("docs", &opts("a.txt"))
        .unwrap();
    let f = file_of(&put(&c, &signed.upload_url, Some("text/plain"), text(10)).await);
    assert!(f["width"].is_null() && f["height"].is_null());
    assert_eq!(f["kind"], "text");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amplify_flow_type_metadata_checksums_and_prevent_overwrite() {
    let srv = server();
    let c = client();
    let body = text(300);
    let amplify = SignOptions {
        filename: Some("report.txt".into()),
        content_type: Some("text/plain".into()),
        size: Some(SizeRule::Exact(300)),
        sha256: Some(sha256_hex(&body)),
        crc32: Some(crc32fast::hash(&body)),
        metadata: BTreeMap::from([
            ("owner".into(), "ann".into()),
            ("project".into(), "x-1".into()),
        ]),
        content_disposition: Some("attachment".into()),
        acl: Acl::PublicRead,
        prevent_overwrite: true,
        ..Default::default()
    };
    let signed = srv.signed.get_signed_put_with("team", &amplify).unwrap();
    assert_eq!(signed.headers["Content-Type"], "text/plain");
    let f = file_of(&put(&c, &signed.upload_url, Some("text/plain"), body.clone()).await);
    assert_eq!(
        f["metadata"],
        serde_json::json!({ "owner": "ann", "project": "x-1" })
    );
    assert_eq!(f["contentDisposition"], "attachment");
    assert_eq!(f["acl"], "public-read");
    // Public: served without a signature, as an attachment.
    let url = f["url"].as_str().unwrap();
    assert!(!url.contains("signature"));
    let got = get(&c, url).await;
    assert_eq!(got.bytes, body);
    assert!(got
        .header("content-disposition")
        .unwrap()
        .starts_with("attachment"));

    // Another URL for the same key with prevent_overwrite: 412, the object unharmed.
    let other = text(300).into_iter().map(|b| b ^ 1).collect::<Vec<u8>>();
    let second = srv
        .signed
        .get_signed_put_with(
            "team",
            &SignOptions {
                sha256: None,
                crc32: None,
                ..amplify.clone()
            },
        )
        .unwrap();
    let r = put(&c, &second.upload_url, Some("text/plain"), other.clone()).await;
    let e = refused(&r, 412, "PRECONDITION_FAILED");
    assert_eq!(e["data"]["path"], "team/report.txt");
    assert_eq!(
        objects(&srv),
        vec![("team/report.txt".to_string(), body.clone())]
    );

    // Without prevent_overwrite the object is replaced (atomically), its record too.
    let replace = srv
        .signed
        .get_signed_put_with("team", &opts("report.txt"))
        .unwrap();
    let f2 = file_of(&put(&c, &replace.upload_url, Some("text/plain"), other.clone()).await);
    assert_eq!(f2["sha256"], sha256_hex(&other));
    assert_eq!(f2["created"], f["created"]);
    assert_eq!(objects(&srv), vec![("team/report.txt".to_string(), other)]);
    srv.assert_no_staged().await;
}

/// An object that every refusal below must leave as it is.
async fn seed(srv: &TestServer, c: &reqwest::Client) -> Vec<(String, Vec<u8>)> {
    let s = srv
        .signed
        .get_signed_put_with("keep", &opts("me.png"))
        .unwrap();
    file_of(&put(c, &s.upload_url, Some("image/png"), PNG_1X1.to_vec()).await);
    objects(srv)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_store_nothing_and_harm_nothing() {
    let srv = server();
    let c = client();
    let before = seed(&srv, &c).await;
    let at = |o: SignOptions| {
        let mut o = o;
        o.filename = Some("me.png".into());
        srv.signed
            .get_signed_put_with("keep", &o)
            .unwrap()
            .upload_url
    };
    let png = |n| common::fixtures::png(n);
    // (what, url, content type, body, status, code)
    type Case<'a> = (&'a str, String, &'a str, Vec<u8>, u16, &'a str);
    let cases: Vec<Case> = vec![
        (
            "wrong content type",
            at(SignOptions {
                content_type: Some("image/png".into()),
                ..Default::default()
            }),
            "image/jpeg",
            png(100),
            415,
            "UNSUPPORTED_TYPE",
        ),
        (
            "bytes contradict the bound type",
            at(SignOptions {
                content_type: Some("image/png".into()),
                ..Default::default()
            }),
            "image/png",
            text(100),
            415,
            "UNSUPPORTED_TYPE",
        ),
        (
            "over the exact size",
            at(SignOptions {
                size: Some(SizeRule::Exact(50)),
                ..Default::default()
            }),
            "image/png",
            png(100),
            413,
            "TOO_LARGE",
        ),
        (
            "short of the exact size",
            at(SignOptions {
                size: Some(SizeRule::Exact(500)),
                ..Default::default()
            }),
            "image/png",
            png(100),
            400,
            "SIZE_MISMATCH",
        ),
        (
            "over the range",
            at(SignOptions {
                size: Some(SizeRule::Range(10, 99)),
                ..Default::default()
            }),
            "image/png",
            png(100),
            413,
            "TOO_LARGE",
        ),
        (
            "under the range",
            at(SignOptions {
                size: Some(SizeRule::Range(101, 200)),
                ..Default::default()
            }),
            "image/png",
            png(100),
            400,
            "TOO_SMALL",
        ),
        (
            "sha256 mismatch",
            at(SignOptions {
                sha256: Some("ab".repeat(32)),
                ..Default::default()
            }),
            "image/png",
            png(100),
            400,
            "CHECKSUM_MISMATCH",
        ),
        (
            "crc32 mismatch",
            at(SignOptions {
                crc32: Some(12345),
                ..Default::default()
            }),
            "image/png",
            png(100),
            400,
            "CHECKSUM_MISMATCH",
        ),
        (
            "prevent_overwrite on an existing key",
            at(SignOptions {
                prevent_overwrite: true,
                ..Default::default()
            }),
            "image/png",
            png(100),
            412,
            "PRECONDITION_FAILED",
        ),
    ];
    for (what, url, ty, body, status, code) in cases {
        let r = put(&c, &url, Some(ty), body).await;
        assert_eq!(
            r.status,
            status,
            "{what}: {}",
            String::from_utf8_lossy(&r.bytes)
        );
        refused(&r, status, code);
        srv.assert_no_staged().await;
        assert_eq!(objects(&srv), before, "{what} changed the stored objects");
    }
    // A size range that is met stores (into another name, to keep the seed).
    let ok = srv
        .signed
        .get_signed_put_with(
            "keep",
            &SignOptions {
                size: Some(SizeRule::Range(10, 100)),
                ..opts("range.png")
            },
        )
        .unwrap();
    file_of(&put(&c, &ok.upload_url, Some("image/png"), png(100)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_tampered_and_replayed_urls_are_refused() {
    let srv = server();
    let c = client();
    let before = seed(&srv, &c).await;
    let full = SignOptions {
        filename: Some("me.png".into()),
        content_type: Some("image/png".into()),
        size: Some(SizeRule::Range(1, 1000)),
        sha256: Some(sha256_hex(PNG_1X1)),
        crc32: Some(crc32fast::hash(PNG_1X1)),
        metadata: BTreeMap::from([("k".into(), "v".into())]),
        content_disposition: Some("inline".into()),
        acl: Acl::Private,
        ..Default::default()
    };
    let url = srv
        .signed
        .get_signed_put_with("keep", &full)
        .unwrap()
        .upload_url;
    // Each bound parameter, changed or dropped; an added one; the path.
    for (name, value) in [
        ("expiry", Some("99999999999")),
        ("id", Some("other")),
        ("type", Some("image/jpeg")),
        ("minSize", Some("0")),
        ("maxSize", Some("99999")),
        ("sha256", Some("00")),
        ("crc32", Some("1")),
        ("meta.k", Some("w")),
        ("disposition", Some("attachment")),
        ("acl", Some("public-read")),
        ("once", None),
        ("signature", Some("k1.AAAA")),
        ("signature", None),
        ("expiry", None),
    ] {
        let tampered = with_query(&url, name, value);
        let r = put(&c, &tampered, Some("image/png"), PNG_1X1.to_vec()).await;
        refused(&r, 403, "SIGNATURE_INVALID");
    }
    let added = format!("{url}&noOverwrite=1");
    refused(
        &put(&c, &added, Some("image/png"), PNG_1X1.to_vec()).await,
        403,
        "SIGNATURE_INVALID",
    );
    let moved = url.replace("/keep/me.png?", "/keep/you.png?");
    refused(
        &put(&c, &moved, Some("image/png"), PNG_1X1.to_vec()).await,
        403,
        "SIGNATURE_INVALID",
    );
    // Nothing of it reached the query: no query at all is a plain 401.
    let bare = url.split('?').next().unwrap();
    refused(
        &put(&c, bare, Some("image/png"), PNG_1X1.to_vec()).await,
        401,
        "UNAUTHORIZED",
    );
    assert_eq!(objects(&srv), before);

    // One-time: the first use succeeds (replacing), the second is ALREADY_USED.
    let r = put(&c, &url, Some("image/png"), PNG_1X1.to_vec()).await;
    file_of(&r);
    let again = put(&c, &url, Some("image/png"), PNG_1X1.to_vec()).await;
    refused(&again, 409, "ALREADY_USED");
    // A reusable URL (one_time: false) works twice.
    let reusable = srv
        .signed
        .get_signed_put_with(
            "keep",
            &SignOptions {
                one_time: false,
                ..opts("re.txt")
            },
        )
        .unwrap();
    file_of(&put(&c, &reusable.upload_url, Some("text/plain"), text(5)).await);
    file_of(&put(&c, &reusable.upload_url, Some("text/plain"), text(6)).await);

    // Expired: signed for one second, used after it.
    let short = srv
        .signed
        .get_signed_put_with(
            "keep",
            &SignOptions {
                expires_in: Duration::from_secs(1),
                ..opts("late.png")
            },
        )
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let r = put(&c, &short.upload_url, Some("image/png"), PNG_1X1.to_vec()).await;
    refused(&r, 410, "EXPIRED");
    assert!(!object_paths(&srv).contains(&"keep/late.png".to_string()));
    srv.assert_no_staged().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsafe_paths_are_refused_when_signing_and_in_the_url() {
    let srv = server();
    let c = client();
    let before = seed(&srv, &c).await;
    for (dir, name) in [
        ("keep", "../escape.txt"),
        ("keep", "a/../../b"),
        ("keep", "./a"),
        ("keep", "a\\b"),
        ("keep", "a\0b"),
        ("keep", "a\nb"),
        ("keep", "a\u{7f}b"),
        ("keep", "/etc/passwd"),
        ("keep", "a//b"),
        ("keep", "a%2Fb"),
        ("keep", ""),
        ("/abs", "x"),
        ("..", "x"),
        ("", "x"),
        ("a/", "x"),
    ] {
        let e = srv
            .signed
            .get_signed_put_with(dir, &opts(name))
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidPath, "{dir:?} {name:?}");
    }
    assert_eq!(
        srv.signed
            .create_token(uplift::TokenRequest {
                dir: "../x".into(),
                expire_time: None,
                ..Default::default()
            })
            .unwrap_err()
            .code(),
        ErrorCode::InvalidPath
    );

    // The signature of a good URL, moved onto unsafe paths as a raw request would send them.
    let good = srv
        .signed
        .get_signed_put_with("keep", &opts("x.txt"))
        .unwrap()
        .upload_url;
    let query = good.split_once('?').unwrap().1;
    for raw in [
        "keep/../x.txt",
        "keep/%2e%2e/x.txt",
        "keep/%2E%2E/keep/x.txt",
        "keep%2Fx.txt",
        "keep%2fx.txt",
        "keep%5Cx.txt",
        "keep\\x.txt",
        "keep/%00x.txt",
        "keep/%0ax.txt",
        "keep/%01x.txt",
        "/keep/x.txt",
        "keep//x.txt",
        "keep/./x.txt",
        "keep/%252F",
    ] {
        let target = format!("/api/uploads/objects/{raw}?{query}");
        let r = raw_put(&srv, &target, "text/plain", b"hello").await;
        assert_eq!(r.status, 400, "{raw}: {}", r.body);
        refusal(r.status, &r.body, 400, "INVALID_PATH");
    }
    assert_eq!(objects(&srv), before);
    srv.assert_no_staged().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn options_are_checked_before_signing() {
    let srv = server();
    for bad in [
        SignOptions {
            expires_in: Duration::from_secs(8 * 24 * 3600),
            ..Default::default()
        },
        SignOptions {
            expires_in: Duration::ZERO,
            ..Default::default()
        },
        SignOptions {
            size: Some(SizeRule::Range(10, 1)),
            ..Default::default()
        },
        SignOptions {
            sha256: Some("xyz".into()),
            ..Default::default()
        },
        SignOptions {
            content_type: Some("Image/PNG; x=y".into()),
            ..Default::default()
        },
        SignOptions {
            content_disposition: Some("sideways".into()),
            ..Default::default()
        },
        SignOptions {
            metadata: BTreeMap::from([("bad key".into(), "v".into())]),
            ..Default::default()
        },
    ] {
        let e = srv.signed.get_signed_put_with("d", &bad).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidInput, "{bad:?}");
    }
    // A week is the most.
    assert!(srv
        .signed
        .get_signed_put_with(
            "d",
            &SignOptions {
                expires_in: Duration::from_secs(7 * 24 * 3600),
                ..Default::default()
            }
        )
        .is_ok());
}
