//! Upload tokens over HTTP: `PUT {base}/objects/{dir}/…` and `POST {base}/objects/{dir}` with
//! `Authorization: Bearer`, and every way a token is refused (none, forged, wrong key,
//! expired, `alg: none`, another folder) — with nothing stored.

mod common;

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::fixtures::text;
use common::http::{client, Resp};
use common::signed::*;
use common::TestServer;
use uplift::TokenRequest;

fn token(srv: &TestServer, dir: &str, secs: u64) -> String {
    srv.signed
        .create_token(TokenRequest {
            dir: dir.into(),
            expire_time: Some(Duration::from_secs(secs)),
            ..Default::default()
        })
        .unwrap()
        .token
}

async fn put_with(c: &reqwest::Client, url: &str, bearer: Option<&str>, body: Vec<u8>) -> Resp {
    let mut r = c.put(url).header("content-type", "text/plain").body(body);
    if let Some(t) = bearer {
        r = r.bearer_auth(t);
    }
    Resp::read(r.send().await.unwrap()).await
}

/// An HS256 token with `claims`, signed with `key` and `kid: k1`.
fn forge(key: &[u8], claims: serde_json::Value) -> String {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = Some("k1".into());
    jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(key),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_uploads_into_its_folder_and_below() {
    let srv = TestServer::start(uplift::Router::new());
    let c = client();
    let t = srv
        .signed
        .create_token(TokenRequest {
            dir: "team/a".into(),
            expire_time: None,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(t.dir, "team/a");
    let f = file_of(
        &put_with(
            &c,
            &format!("{}/objects/team/a/x.txt", srv.base),
            Some(&t.token),
            text(10),
        )
        .await,
    );
    assert_eq!(
        (f["folder"].as_str(), f["filename"].as_str()),
        (Some("team/a"), Some("x.txt"))
    );
    file_of(
        &put_with(
            &c,
            &format!("{}/objects/team/a/sub/y.txt", srv.base),
            Some(&t.token),
            text(11),
        )
        .await,
    );
    // Multipart POST into the folder: the part's file name is the object's.
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(text(12))
            .file_name("z.txt")
            .mime_str("text/plain")
            .unwrap(),
    );
    let r = Resp::read(
        c.post(format!("{}/objects/team/a/posted", srv.base))
            .bearer_auth(&t.token)
            .multipart(form)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let f = file_of(&r);
    assert_eq!(f["folder"], "team/a/posted");
    assert_eq!(f["filename"], "z.txt");
    assert_eq!(
        object_paths(&srv),
        ["team/a/posted/z.txt", "team/a/sub/y.txt", "team/a/x.txt"]
    );
    // `If-None-Match: *` makes a token upload refuse to replace.
    let r = Resp::read(
        c.put(format!("{}/objects/team/a/x.txt", srv.base))
            .bearer_auth(&t.token)
            .header("if-none-match", "*")
            .body(text(3))
            .send()
            .await
            .unwrap(),
    )
    .await;
    refused(&r, 412, "PRECONDITION_FAILED");
    assert_eq!(objects(&srv)[2].1, text(10));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_tokens_are_refused_with_distinct_codes() {
    let srv = TestServer::start(uplift::Router::new());
    let c = client();
    let url = format!("{}/objects/team/a/x.txt", srv.base);
    let good = token(&srv, "team/a", 60);
    let parts: Vec<&str> = good.split('.').collect();
    let claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();

    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
        parts[1]
    );
    let hs512 = {
        let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS512);
        h.kid = Some("k1".into());
        jsonwebtoken::encode(
            &h,
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(b"whatever-whatever-whatever-whatev"),
        )
        .unwrap()
    };
    // Signed with the raw app secret instead of the derived token key: a wrong key.
    let wrong_key = forge(common::SECRET, claims.clone());
    let mut tampered_claims = claims.clone();
    tampered_claims["dir"] = "team".into();
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&tampered_claims).unwrap()),
        parts[2]
    );
    let expired = token(&srv, "team/a", 1);
    let other_dir = token(&srv, "team/b", 60);
    let parent_like = token(&srv, "team/a/x.txt/deeper", 60);

    let cases: Vec<(&str, Option<String>, u16, &str)> = vec![
        ("no token", None, 401, "UNAUTHORIZED"),
        ("garbage", Some("not.a.jwt".into()), 401, "TOKEN_INVALID"),
        ("alg none", Some(none), 401, "TOKEN_ALGORITHM"),
        ("another algorithm", Some(hs512), 401, "TOKEN_ALGORITHM"),
        ("wrong key", Some(wrong_key), 401, "TOKEN_INVALID"),
        ("tampered claims", Some(tampered), 401, "TOKEN_INVALID"),
        ("other folder", Some(other_dir), 403, "TOKEN_SCOPE"),
        ("a folder below", Some(parent_like), 403, "TOKEN_SCOPE"),
    ];
    for (what, t, status, code) in cases {
        let r = put_with(&c, &url, t.as_deref(), text(10)).await;
        assert_eq!(
            r.status,
            status,
            "{what}: {}",
            String::from_utf8_lossy(&r.bytes)
        );
        refused(&r, status, code);
    }
    tokio::time::sleep(Duration::from_millis(2100)).await;
    refused(
        &put_with(&c, &url, Some(&expired), text(10)).await,
        401,
        "TOKEN_EXPIRED",
    );
    // The multipart endpoint checks the token before reading any part.
    let r = Resp::read(
        c.post(format!("{}/objects/team/b", srv.base))
            .bearer_auth(&good)
            .body("irrelevant")
            .send()
            .await
            .unwrap(),
    )
    .await;
    refused(&r, 403, "TOKEN_SCOPE");
    assert!(objects(&srv).is_empty());
    srv.assert_no_staged().await;
    // And the good one still works.
    file_of(&put_with(&c, &url, Some(&good), text(10)).await);
}

/// RFC 8032, test 1: the seed (PKCS#8-wrapped) and its public key.
const ED_PKCS8: [u8; 48] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
    0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
    0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60,
];
const ED_PUBLIC: [u8; 32] = [
    0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5, 0x4b, 0xfe, 0xd3, 0xc9, 0x64, 0x07, 0x3a,
    0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6, 0x23, 0x25, 0xaf, 0x02, 0x1a, 0x68, 0xf7, 0x07, 0x51, 0x1a,
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ed25519_tokens_work_and_hs256_tokens_are_then_refused() {
    let srv = TestServer::start_with(
        uplift::Router::new(),
        common::Options {
            configure: Box::new(|b| b.token_ed25519(&ED_PKCS8, &ED_PUBLIC)),
            ..Default::default()
        },
    );
    let hs_srv = TestServer::start(uplift::Router::new());
    let c = client();
    let url = format!("{}/objects/team/a/x.txt", srv.base);
    let t = token(&srv, "team", 60);
    let head: serde_json::Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(t.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(head["alg"], "EdDSA");
    file_of(&put_with(&c, &url, Some(&t), text(10)).await);
    // An HS256 token (same secret, another server's default) is the wrong algorithm here.
    let hs = token(&hs_srv, "team", 60);
    refused(
        &put_with(&c, &url, Some(&hs), text(10)).await,
        401,
        "TOKEN_ALGORITHM",
    );
    // A mismatched key pair is refused when building.
    let mut other = ED_PUBLIC;
    other[5] ^= 1;
    let err = uplift::Uplift::builder(uplift::Router::new())
        .storage(uplift::MemoryStorage::new())
        .records(uplift::Records::connect("sqlite::memory:").await.unwrap())
        .secret(common::SECRET)
        .token_ed25519(&ED_PKCS8, &other)
        .build()
        .err()
        .expect("a mismatched pair is refused");
    assert!(err.to_string().contains("upload token key"), "{err}");
}
