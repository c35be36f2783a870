//! `S3Storage` against a real S3-compatible store (Garage in CI, named by `UPLIFT_S3_*`;
//! skipped with a note when unset unless `UPLIFT_REQUIRE_S3=1`): the storage contract
//! (invisible until committed, never replacing, multipart beyond one part, aborted when
//! dropped, listings and ages for the sweeper), then uploads over HTTP whose downloads
//! redirect to presigned `GET`s of the bucket.
#![cfg(feature = "s3")]

mod common;

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use common::http::{client, put, Resp};
use common::{s3_available, s3_storage, Backend, Options, TestServer};
use sha2::{Digest, Sha256};
use uplift::storage::{StagedWrite, Storage, StoredObject, Target, MIN_PART_SIZE};
use uplift::{HttpRequest, UploadError};

fn key(k: &str) -> Target {
    Target::Key(k.into())
}

fn object(path: &str, replace: bool) -> Target {
    Target::Object {
        path: path.into(),
        replace,
    }
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

async fn write_all(w: &mut Box<dyn StagedWrite>, data: &[u8]) {
    // Odd-sized chunks, as a network body arrives.
    for chunk in data.chunks(300_007) {
        w.write(Bytes::copy_from_slice(chunk)).await.unwrap();
    }
}

/// The bytes behind a stored object, fetched from its presigned URL (no credentials).
async fn fetch(obj: StoredObject, content_type: &str) -> (Vec<u8>, reqwest::header::HeaderMap) {
    let StoredObject::Remote(remote) = obj else {
        panic!("S3 objects are fetched from the bucket");
    };
    let url = remote.presigned_url(content_type, "attachment; filename=\"x.bin\"");
    let res = reqwest::get(&url).await.unwrap();
    assert_eq!(res.status(), 200, "presigned GET");
    let headers = res.headers().clone();
    (res.bytes().await.unwrap().to_vec(), headers)
}

async fn wait_no_multipart(s3: &uplift::storage::S3Storage) {
    for _ in 0..50 {
        if s3.multipart_uploads().await.unwrap() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("a multipart upload was left in progress");
}

#[tokio::test]
async fn small_and_multipart_writes_commit_intact_and_never_replace() {
    if !s3_available() {
        return;
    }
    let s3 = s3_storage();
    // Below one part: one PutObject at commit, nothing visible before.
    let small = pattern(1000, 1);
    let mut w = s3.stage(key("small1")).await.unwrap();
    write_all(&mut w, &small).await;
    assert!(s3.open("small1").await.unwrap().is_none(), "invisible");
    w.commit().await.unwrap();
    let (got, headers) = fetch(s3.open("small1").await.unwrap().unwrap(), "text/plain").await;
    assert_eq!(got, small);
    assert_eq!(headers["content-type"], "text/plain");
    assert_eq!(
        headers["content-disposition"],
        "attachment; filename=\"x.bin\""
    );

    // Two and a half parts: a multipart upload to the final key, invisible until completed.
    let big = pattern(2 * MIN_PART_SIZE + MIN_PART_SIZE / 2, 7);
    let mut w = s3.stage(key("big1")).await.unwrap();
    write_all(&mut w, &big).await;
    assert_eq!(s3.multipart_uploads().await.unwrap(), 1);
    assert!(s3.open("big1").await.unwrap().is_none(), "invisible");
    w.commit().await.unwrap();
    assert_eq!(s3.multipart_uploads().await.unwrap(), 0);
    let (got, _) = fetch(s3.open("big1").await.unwrap().unwrap(), "application/pdf").await;
    assert_eq!(Sha256::digest(&got), Sha256::digest(&big));

    // A route key is never replaced, small or multipart.
    for (name, len) in [("small1", 10), ("big1", MIN_PART_SIZE + 1)] {
        let mut w = s3.stage(key(name)).await.unwrap();
        write_all(&mut w, &pattern(len, 9)).await;
        let err = w.commit().await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists, "{name}");
    }
    wait_no_multipart(&s3).await;
    let (got, _) = fetch(s3.open("small1").await.unwrap().unwrap(), "text/plain").await;
    assert_eq!(got, small, "the first bytes stay");

    // Hooks read the first bytes whatever the backend.
    assert_eq!(s3.read("small1", 10).await.unwrap().unwrap(), small[..10]);
    assert_eq!(s3.read("small1", 5000).await.unwrap().unwrap(), small[..]);
    let head = s3.read("big1", MIN_PART_SIZE + 5).await.unwrap().unwrap();
    assert_eq!(head, big[..MIN_PART_SIZE + 5]);
    assert!(s3.read("nothing", 10).await.unwrap().is_none());

    assert!(s3.delete("small1").await.unwrap());
    assert!(!s3.delete("small1").await.unwrap(), "already gone");
    assert!(s3.open("small1").await.unwrap().is_none());
    assert!(s3.delete("big1").await.unwrap());
}

#[tokio::test]
async fn objects_replace_only_when_allowed() {
    if !s3_available() {
        return;
    }
    let s3 = s3_storage();
    let mut w = s3.stage(object("a/b/c d.txt", false)).await.unwrap();
    write_all(&mut w, b"one").await;
    w.commit().await.unwrap();
    let mut w = s3.stage(object("a/b/c d.txt", false)).await.unwrap();
    write_all(&mut w, b"two").await;
    assert_eq!(
        w.commit().await.unwrap_err().kind(),
        std::io::ErrorKind::AlreadyExists
    );
    let mut w = s3.stage(object("a/b/c d.txt", true)).await.unwrap();
    write_all(&mut w, b"three").await;
    w.commit().await.unwrap();
    let obj = s3.open_object("a/b/c d.txt").await.unwrap().unwrap();
    assert_eq!(fetch(obj, "text/plain").await.0, b"three");
    assert!(s3.open_object("a/b").await.unwrap().is_none());
    for bad in ["../x", "a//b", "/abs", ""] {
        assert!(s3.stage(object(bad, true)).await.is_err(), "{bad}");
        assert!(s3.open_object(bad).await.is_err(), "{bad}");
    }
    assert!(s3.stage(key("a/b")).await.is_err());
    assert!(s3.delete_object("a/b/c d.txt").await.unwrap());
}

#[tokio::test]
async fn abandoned_writes_leave_nothing() {
    if !s3_available() {
        return;
    }
    let s3 = s3_storage();
    // Dropped mid-way (a refused or interrupted upload): its multipart upload is aborted.
    let mut w = s3.stage(key("dropped")).await.unwrap();
    write_all(&mut w, &pattern(MIN_PART_SIZE + 10, 3)).await;
    assert_eq!(s3.multipart_uploads().await.unwrap(), 1);
    drop(w);
    wait_no_multipart(&s3).await;
    assert!(s3.open("dropped").await.unwrap().is_none());

    // A crashed process never drops its write: the sweeper's cleanup aborts it once old enough.
    let mut w = s3.stage(key("crashed")).await.unwrap();
    write_all(&mut w, &pattern(MIN_PART_SIZE + 10, 4)).await;
    std::mem::forget(w);
    assert_eq!(
        s3.cleanup_staged(Duration::from_secs(3600)).await.unwrap(),
        0
    );
    assert_eq!(s3.multipart_uploads().await.unwrap(), 1);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(s3.cleanup_staged(Duration::from_secs(1)).await.unwrap(), 1);
    assert_eq!(s3.multipart_uploads().await.unwrap(), 0);
    assert!(s3.open("crashed").await.unwrap().is_none());
}

#[tokio::test]
async fn listings_feed_the_sweeper() {
    if !s3_available() {
        return;
    }
    let s3 = s3_storage();
    for (target, bytes) in [
        (key("k1"), &b"1"[..]),
        (key("k2"), b"2"),
        (object("f/o.txt", false), b"o"),
    ] {
        let mut w = s3.stage(target).await.unwrap();
        write_all(&mut w, bytes).await;
        w.commit().await.unwrap();
    }
    let list = s3.as_list().expect("S3 lists");
    let later = SystemTime::now() + Duration::from_secs(60);
    let earlier = SystemTime::now() - Duration::from_secs(3600);
    let names = |v: Vec<uplift::Listed>| v.into_iter().map(|l| l.name).collect::<Vec<_>>();
    assert_eq!(names(list.list_keys(later).await.unwrap()), ["k1", "k2"]);
    assert_eq!(names(list.list_objects(later).await.unwrap()), ["f/o.txt"]);
    assert!(list.list_keys(earlier).await.unwrap().is_empty());
    assert!(!list.delete_if_older("k1", earlier).await.unwrap());
    assert!(list.delete_if_older("k1", later).await.unwrap());
    assert!(!list.delete_if_older("k1", later).await.unwrap());
    assert!(list.delete_object_if_older("f/o.txt", later).await.unwrap());
    assert_eq!(names(list.list_keys(later).await.unwrap()), ["k2"]);
    assert!(list.list_objects(later).await.unwrap().is_empty());
}

#[uplift::file_route(
    text(max_file_size = "8MB", max_file_count = 2),
    blob(max_file_size = "16MB"),
    on_upload_complete = stored
)]
async fn papers(_req: HttpRequest) -> Result<(), UploadError> {
    Ok(())
}

async fn stored(_meta: (), _file: uplift::UploadedFile) -> Result<(), UploadError> {
    Ok(())
}

fn s3_server() -> TestServer {
    TestServer::start_with(
        uplift::router![papers],
        Options {
            storage: Backend::S3,
            ..Options::default()
        },
    )
}

/// Downloads answer with a redirect to the bucket, never with the bytes themselves.
async fn download(srv: &TestServer, url: &str) -> (reqwest::Response, String) {
    let no_follow = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = no_follow.get(url).send().await.unwrap();
    assert_eq!(res.status(), 307, "downloads redirect to the bucket");
    assert_eq!(res.headers()["cache-control"], "private, no-store");
    let location = res.headers()["location"].to_str().unwrap().to_string();
    let endpoint = std::env::var("UPLIFT_S3_ENDPOINT").unwrap();
    assert!(location.starts_with(&endpoint), "{location}");
    assert!(!location.starts_with(&srv.origin));
    let got = reqwest::get(&location).await.unwrap();
    (got, location)
}

#[tokio::test]
async fn route_uploads_over_http_land_in_the_bucket() {
    if !s3_available() {
        return;
    }
    let srv = s3_server();
    let c = client();
    // Prepare + PUT, large enough to be a multipart upload in the bucket.
    let body = pattern(MIN_PART_SIZE * 2 + 3, 5);
    let prepared = srv
        .prepare_one(
            &c,
            "papers",
            "big.bin",
            body.len(),
            "application/octet-stream",
        )
        .await;
    let url = prepared["uploadUrl"].as_str().unwrap();
    let done = put(&c, url, None, body.clone()).await.ok();
    let file = &done["file"];
    let key = done["key"].as_str().unwrap().to_string();
    assert_eq!(file["sha256"], hex(&Sha256::digest(&body)));
    let (got, _) = download(&srv, file["url"].as_str().unwrap()).await;
    assert_eq!(got.status(), 200);
    assert_eq!(got.headers()["content-type"], "application/octet-stream");
    assert!(got.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    assert_eq!(got.bytes().await.unwrap().as_ref(), &body[..]);
    let s3 = srv.s3.as_ref().unwrap();
    let later = SystemTime::now() + Duration::from_secs(60);
    let keys = s3.as_list().unwrap().list_keys(later).await.unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].name, key);

    // Multipart one-shot: text is inert, served inline as itself.
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"hello, bucket".to_vec())
            .file_name("hi.txt")
            .mime_str("text/plain")
            .unwrap(),
    );
    let res = c
        .post(format!("{}/papers/multipart", srv.base))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let done = Resp::read(res).await.ok();
    let file = &done["files"][0]["file"];
    let (got, _) = download(&srv, file["url"].as_str().unwrap()).await;
    assert_eq!(got.headers()["content-type"], "text/plain");
    assert_eq!(got.bytes().await.unwrap().as_ref(), b"hello, bucket");
    assert_eq!(s3.multipart_uploads().await.unwrap(), 0);
}

#[tokio::test]
async fn refused_uploads_leave_nothing_in_the_bucket() {
    if !s3_available() {
        return;
    }
    let srv = s3_server();
    let c = client();
    let s3 = srv.s3.as_ref().unwrap();
    // Declared 6 MiB + 1, sent one byte short after a whole part went to the bucket.
    let len = MIN_PART_SIZE + 1024;
    let prepared = srv
        .prepare_one(&c, "papers", "short.bin", len, "application/octet-stream")
        .await;
    let url = prepared["uploadUrl"].as_str().unwrap();
    let res = c.put(url).body(pattern(len - 1, 2)).send().await.unwrap();
    assert!(res.status().is_client_error(), "{}", res.status());
    // A text route refusing a PNG found in the first bytes.
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(pattern(5000, 1));
    let prepared = srv
        .prepare_one(&c, "papers", "fake.txt", png.len(), "text/plain")
        .await;
    let url = prepared["uploadUrl"].as_str().unwrap();
    let res = c.put(url).body(png).send().await.unwrap();
    assert!(res.status().is_client_error(), "{}", res.status());
    wait_no_multipart(s3).await;
    let later = SystemTime::now() + Duration::from_secs(60);
    assert!(s3
        .as_list()
        .unwrap()
        .list_keys(later)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn signed_objects_land_in_the_bucket() {
    if !s3_available() {
        return;
    }
    let srv = s3_server();
    let c = client();
    let opts = uplift::SignOptions {
        filename: Some("report.txt".into()),
        ..Default::default()
    };
    let grant = srv.signed.get_signed_put_with("team", &opts).unwrap();
    let stored = put(
        &c,
        &grant.upload_url,
        Some("text/plain"),
        b"quarterly".to_vec(),
    )
    .await;
    assert!(stored.status < 300, "{:?}", stored.json());
    let s3 = srv.s3.as_ref().unwrap();
    let later = SystemTime::now() + Duration::from_secs(60);
    let objects = s3.as_list().unwrap().list_objects(later).await.unwrap();
    assert_eq!(objects.len(), 1);
    assert_eq!(objects[0].name, "team/report.txt");
    let obj = s3.open_object("team/report.txt").await.unwrap().unwrap();
    let StoredObject::Remote(remote) = obj else {
        panic!("remote")
    };
    let got = reqwest::get(remote.presigned_url("text/plain", "inline"))
        .await
        .unwrap();
    assert_eq!(got.bytes().await.unwrap().as_ref(), b"quarterly");
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `allow_browser_origins` sets the bucket's CORS rule: a browser's preflight for a `PUT` from
/// an allowed origin passes, another origin's is refused. Malformed origins are
/// refused before anything is sent.
#[tokio::test]
async fn browser_origins_become_the_buckets_cors_rule() {
    if !s3_available() {
        return;
    }
    let s3 = s3_storage();
    for bad in [
        vec![],
        vec!["example.test".to_string()],
        vec!["http://a b".to_string()],
    ] {
        let err = s3.allow_browser_origins(&bad).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{bad:?}");
    }
    s3.allow_browser_origins(&["http://app.example.test:8080".to_string()])
        .await
        .expect("PutBucketCors");
    let url = format!("{}/{}", s3.bucket_origin(), "uplift-test/any/key");
    let preflight = |origin: &'static str| {
        let url = url.clone();
        async move {
            reqwest::Client::new()
                .request(reqwest::Method::OPTIONS, &url)
                .header("origin", origin)
                .header("access-control-request-method", "PUT")
                .header(
                    "access-control-request-headers",
                    "content-type,x-amz-checksum-sha256",
                )
                .send()
                .await
                .unwrap()
        }
    };
    let ok = preflight("http://app.example.test:8080").await;
    assert_eq!(
        ok.headers()
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap()),
        Some("http://app.example.test:8080")
    );
    assert!(ok.status().is_success(), "{}", ok.status());
    // A browser takes a preflight answered with an error for a refusal (Garage adds
    // `Access-Control-Allow-Origin: *` to its error answers, which does not make them pass).
    let other = preflight("http://elsewhere.test").await;
    assert!(!other.status().is_success(), "{}", other.status());
    // Back to what the browser test needs (it sets its own at start, too).
    s3.allow_browser_origins(&["*".to_string()]).await.unwrap();
}
