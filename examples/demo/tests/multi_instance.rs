//! Three demo binaries as one service: one PostgreSQL schema (`DATABASE_SCHEMA`, created by
//! whichever starts first), one bucket prefix (`UPLIFT_S3_KEY_PREFIX`: stored files and tus
//! uploads in progress), one secret, three `UPLIFT_INSTANCE_ID`s. The client
//! spreads its requests round-robin over the three origins:
//!
//! - prepare on one, the signed PUT on another, status on a third, the download redirect to
//!   the bucket followed; a multipart one-shot upload whose awaited hook reads the bucket; a
//!   direct upload (bytes straight to the bucket) completed on another instance than the one
//!   that prepared it;
//! - tus: creation on one, PATCHes and HEADs alternating;
//! - 20 PATCHes at once at one offset of one tus upload, through all three: exactly one is
//!   taken, the others are refused (`423 LOCKED` or `409 OFFSET_MISMATCH`) without writing a
//!   byte;
//! - a large file straight to the bucket in parts: prepared on one instance, which is
//!   SIGKILLed after two parts; the parts listing, the rest and the completion go through the
//!   others;
//! - an instance SIGKILLed in the middle of a PATCH: the upload resumes through the others
//!   from the offset HEAD reports, once the dead PATCH's lease has run out;
//! - that instance restarted with its own id while a PATCH streams into another one: its
//!   start-up recovery leaves the other instance's lock alone, and that PATCH finishes.
//!
//! Skipped with a note without `UPLIFT_S3_ENDPOINT` or a reachable PostgreSQL, unless
//! `UPLIFT_REQUIRE_S3=1` / `UPLIFT_REQUIRE_POSTGRES=1`. Every wait is bounded.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

mod common;
use common::{free_port, hex, patch, pdf, start_with, video, Demo, PgSchema, MIB};

/// The instances' origins, handed out in turn.
struct Cluster {
    origins: Vec<String>,
    turn: AtomicUsize,
}

impl Cluster {
    fn new(origins: Vec<String>) -> Cluster {
        Cluster {
            origins,
            turn: AtomicUsize::new(0),
        }
    }

    /// The next instance's origin.
    fn next(&self) -> &str {
        &self.origins[self.turn.fetch_add(1, Ordering::Relaxed) % self.origins.len()]
    }

    /// `url` (as any instance handed it out) on the next instance.
    fn rr(&self, url: &str) -> String {
        on(self.next(), url)
    }
}

/// `url` with its origin replaced by `origin`.
fn on(origin: &str, url: &str) -> String {
    let rest = url
        .strip_prefix("http://")
        .and_then(|u| u.find('/').map(|i| &u[i..]))
        .unwrap_or_else(|| panic!("not an absolute http URL: {url}"));
    format!("{origin}{rest}")
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn sha(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Polls the status URL (round-robin) until the upload is complete, for at most 60 s.
async fn wait_complete(c: &reqwest::Client, cluster: &Cluster, status_url: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let st: Value = c
            .get(cluster.rr(status_url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if st["status"] == "complete" {
            return st;
        }
        assert!(
            ["uploading", "completing"].contains(&st["status"].as_str().unwrap_or("")),
            "{st}"
        );
        assert!(Instant::now() < deadline, "never completed: {st}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A download through the next instance: a redirect to a presigned GET of the bucket, followed.
async fn download(c: &reqwest::Client, cluster: &Cluster, file_url: &str) -> Vec<u8> {
    let res = c.get(cluster.rr(file_url)).send().await.unwrap();
    assert_eq!(res.status(), 307, "{}", res.text().await.unwrap());
    let location = res.headers()["location"].to_str().unwrap().to_string();
    let endpoint = std::env::var("UPLIFT_S3_ENDPOINT").unwrap();
    assert!(location.starts_with(&endpoint), "{location}");
    let got = c.get(&location).send().await.unwrap();
    assert_eq!(got.status(), 200);
    got.bytes().await.unwrap().to_vec()
}

/// A tus upload of `len` bytes of a video on `mediaPost`, created on `origin`: its URL and key.
async fn tus_create(c: &reqwest::Client, origin: &str, len: usize) -> (String, String) {
    common::tus_create(c, origin, len, "three servers").await
}

async fn head_offset(c: &reqwest::Client, url: &str) -> usize {
    let r = c
        .head(url)
        .header("tus-resumable", "1.0.0")
        .send()
        .await
        .expect("HEAD");
    assert_eq!(r.status(), 200, "HEAD {url}");
    r.headers()["upload-offset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// PATCHes `data[offset..]` in `chunk`-byte pieces, each on the next instance, each accepted.
async fn patch_rest(
    c: &reqwest::Client,
    cluster: &Cluster,
    url: &str,
    data: &[u8],
    mut offset: usize,
    chunk: usize,
) {
    while offset < data.len() {
        let end = (offset + chunk).min(data.len());
        let r = patch(c, &cluster.rr(url), offset, &data[offset..end]).await;
        assert_eq!(
            r.status(),
            204,
            "PATCH at {offset}: {}",
            r.text().await.unwrap()
        );
        let now: usize = r.headers()["upload-offset"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(now, end);
        offset = end;
    }
}

/// The tus upload `key` completed with the caption and these bytes, stored in the bucket.
async fn assert_tus_stored(
    c: &reqwest::Client,
    cluster: &Cluster,
    origin: &str,
    key: &str,
    want: &[u8],
) {
    let status_url = format!("{origin}/api/uploads/files/{key}");
    let st = wait_complete(c, cluster, &status_url).await;
    assert_eq!(st["serverData"]["caption"], "three servers", "{st}");
    assert_eq!(st["serverData"]["author"], "ann", "{st}");
    assert_eq!(st["serverData"]["kind"], "video", "{st}");
    assert_eq!(st["file"]["size"], want.len(), "{st}");
    assert_eq!(st["file"]["sha256"], sha(want), "{st}");
    let got = download(c, cluster, st["file"]["url"].as_str().unwrap()).await;
    assert!(got == want, "the stored bytes differ from the sent ones");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_serve_one_schema_and_one_bucket() {
    let what = "the three-instance test";
    if !common::s3_configured(what) {
        return;
    }
    let Some(schema) = PgSchema::fresh("uplift_multi", what).await else {
        return;
    };
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let prefix = format!("multi{:016x}/", rand::random::<u64>());
    let ports = [free_port(), free_port(), free_port()];
    // Instance `i`: on its port, over the shared dir, schema and prefix, with its own id.
    let start = |i: usize| {
        let env = [
            ("DATABASE_URL", schema.url.clone()),
            ("DATABASE_SCHEMA", schema.name.clone()),
            ("UPLIFT_S3_KEY_PREFIX", prefix.clone()),
            ("UPLIFT_INSTANCE_ID", format!("multi-{i}")),
            // Files straight to the bucket above 8 MiB go in parts.
            ("UPLIFT_DIRECT_MULTIPART_THRESHOLD", (8 * MIB).to_string()),
        ];
        let (dir, port) = (dir.path().to_path_buf(), ports[i]);
        async move {
            let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
            start_with(&dir, port, &env).await
        }
    };
    // All three at once, on a schema that does not exist yet.
    let (a, b, c) = tokio::join!(start(0), start(1), start(2));
    let mut demos: Vec<Option<Demo>> = vec![Some(a), Some(b), Some(c)];
    let origins: Vec<String> = demos
        .iter()
        .map(|d| d.as_ref().unwrap().1.clone())
        .collect();
    let cluster = Cluster::new(origins.clone());
    let http = client();
    eprintln!("three demos up after {:?}", started.elapsed());

    route_uploads(&http, &cluster).await;
    signed_straight_to_the_bucket(&http, &cluster).await;
    tus_round_robin(&http, &cluster).await;
    concurrent_patches(&http, &cluster).await;
    eprintln!("uploads and races done after {:?}", started.elapsed());
    killed_mid_patch(&http, &origins, &mut demos).await;
    eprintln!("kill and resume done after {:?}", started.elapsed());
    a_restart_releases_only_its_own_locks(&http, &origins, || {
        let restart = start(1);
        async {
            demos[1] = Some(restart.await);
        }
    })
    .await;
    eprintln!("restart done after {:?}", started.elapsed());
    direct_parts_through_a_kill(&http, &origins, &mut demos).await;
    eprintln!("direct parts done after {:?}", started.elapsed());

    // Nothing on the instances' disk: stored files and tus uploads in progress are in the
    // bucket.
    let files = dir.path().join("files");
    let local: Vec<String> = std::fs::read_dir(&files)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    assert!(local.is_empty(), "{local:?}");
}

/// Prepare, PUT, status and download each on another instance; a multipart upload on one,
/// its status and download on others.
async fn route_uploads(c: &reqwest::Client, cluster: &Cluster) {
    // A video on mediaPost: the hook runs in the background of the instance that took the PUT.
    let data = video(3 * MIB);
    let file = &common::prepare_video(c, cluster.next(), data.len(), "three servers").await;
    let upload_url = file["uploadUrl"]
        .as_str()
        .unwrap_or_else(|| panic!("{file}"));
    let put = c
        .put(cluster.rr(upload_url))
        .header("content-type", "video/mp4")
        .body(data.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200, "{}", put.text().await.unwrap());
    // The signed URL works once, whichever instance the replay reaches.
    let replay = c
        .put(cluster.rr(upload_url))
        .header("content-type", "video/mp4")
        .body(data.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 409);
    let st = wait_complete(c, cluster, file["statusUrl"].as_str().unwrap()).await;
    assert_eq!(st["serverData"]["caption"], "three servers", "{st}");
    assert_eq!(st["serverData"]["kind"], "video", "{st}");
    assert_eq!(st["file"]["sha256"], sha(&data), "{st}");
    let got = download(c, cluster, st["file"]["url"].as_str().unwrap()).await;
    assert!(got == data, "downloaded bytes differ");

    // A private PDF, one-shot multipart: the awaited hook reads it back from the bucket.
    let body = pdf(4);
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(body.clone())
            .file_name("contract.pdf")
            .mime_str("application/pdf")
            .unwrap(),
    );
    let done: Value = c
        .post(format!(
            "{}/api/uploads/documentReview/multipart",
            cluster.next()
        ))
        .header("x-user", "ann")
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let result = &done["files"][0];
    assert_eq!(result["status"], "complete", "{done}");
    assert_eq!(result["serverData"]["pagesEstimate"], 4, "{done}");
    assert_eq!(result["serverData"]["sha256"], sha(&body), "{done}");
    let st = wait_complete(c, cluster, result["statusUrl"].as_str().unwrap()).await;
    assert_eq!(st["serverData"], result["serverData"], "{st}");
    let got = download(c, cluster, st["file"]["url"].as_str().unwrap()).await;
    assert!(got == body, "downloaded PDF differs");

    // Straight to the bucket: prepared on one instance (a declared SHA-256), the bytes sent to
    // the bucket, completed on another (its awaited hook reads the PDF back), status and
    // download on others.
    let body = pdf(5);
    let prepared: Value = c
        .post(format!("{}/api/uploads/documentReview", cluster.next()))
        .header("x-user", "ann")
        .json(&json!({
            "files": [{ "name": "direct.pdf", "size": body.len(), "type": "application/pdf",
                        "sha256": sha(&body) }],
            "input": null
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let file = &prepared["files"][0];
    let complete_url = file["completeUrl"]
        .as_str()
        .unwrap_or_else(|| panic!("a direct upload: {prepared}"));
    let bucket_url = file["uploadUrl"].as_str().unwrap();
    assert!(
        !cluster
            .origins
            .iter()
            .any(|o| bucket_url.starts_with(o.as_str())),
        "the bytes go to the bucket, not an instance: {bucket_url}"
    );
    let mut put = c.put(bucket_url).body(body.clone());
    for (k, v) in file["headers"].as_object().unwrap() {
        put = put.header(k, v.as_str().unwrap());
    }
    let put = put.send().await.unwrap();
    assert_eq!(put.status(), 200, "{}", put.text().await.unwrap());
    let done = c.post(cluster.rr(complete_url)).send().await.unwrap();
    assert_eq!(done.status(), 200);
    let done: Value = done.json().await.unwrap();
    assert_eq!(done["serverData"]["pagesEstimate"], 5, "{done}");
    assert_eq!(done["serverData"]["sha256"], sha(&body), "{done}");
    let st = wait_complete(c, cluster, file["statusUrl"].as_str().unwrap()).await;
    assert_eq!(st["serverData"], done["serverData"], "{st}");
    let got = download(c, cluster, st["file"]["url"].as_str().unwrap()).await;
    assert!(got == body, "downloaded PDF differs");
}

/// A 1×1 PNG header, padded to `size` bytes (the type is sniffed from the signature).
fn png(size: usize) -> Vec<u8> {
    let mut v = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0".to_vec();
    v.resize(size, 0);
    v
}

/// A signed URL and a signed form straight to the bucket, each signed on one instance and
/// completed on another (the completion URL is all the state there is), the stored object
/// downloaded through a third.
async fn signed_straight_to_the_bucket(c: &reqwest::Client, cluster: &Cluster) {
    let sign = |what: &'static str, body: Value| {
        let url = format!("{}/api/demo/{what}", cluster.next());
        async move {
            let r = c
                .post(url)
                .header("x-user", "ann")
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            r.json::<Value>().await.unwrap()
        }
    };
    let body = pdf(2);
    let put = sign(
        "signed-put",
        json!({ "filename": "signed.pdf", "contentType": "application/pdf", "sha256": sha(&body), "direct": true }),
    )
    .await;
    let mut req = c.put(put["uploadUrl"].as_str().unwrap()).body(body.clone());
    for (k, v) in put["headers"].as_object().unwrap() {
        req = req.header(k, v.as_str().unwrap());
    }
    assert_eq!(req.send().await.unwrap().status(), 200);
    let done: Value = c
        .post(cluster.rr(put["completeUrl"].as_str().unwrap()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(done["data"]["sha256"], sha(&body), "{done}");
    let got = download(c, cluster, done["data"]["url"].as_str().unwrap()).await;
    assert!(got == body, "downloaded PDF differs");

    let form = sign("signed-post", json!({ "keyPrefix": "", "direct": true })).await;
    let image = png(3000);
    let mut multipart = reqwest::multipart::Form::new();
    for (k, v) in form["form"]["fields"].as_object().unwrap() {
        multipart = multipart.text(k.clone(), v.as_str().unwrap().to_string());
    }
    multipart = multipart.text("Content-Type", "image/png").part(
        "file",
        reqwest::multipart::Part::bytes(image.clone()).file_name("form.png"),
    );
    let posted = c
        .post(form["form"]["url"].as_str().unwrap())
        .multipart(multipart)
        .send()
        .await
        .unwrap();
    assert!(posted.status().is_success(), "{}", posted.status());
    let done: Value = c
        .post(cluster.rr(form["completeUrl"].as_str().unwrap()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(done["data"]["filename"], "form.png", "{done}");
    let got = download(c, cluster, done["data"]["url"].as_str().unwrap()).await;
    assert!(got == image, "downloaded PNG differs");
}

/// Creation on one instance, then PATCHes and HEADs taking turns over all three.
async fn tus_round_robin(c: &reqwest::Client, cluster: &Cluster) {
    let data = video(20 * MIB);
    let origin = cluster.next().to_string();
    let (url, key) = tus_create(c, &origin, data.len()).await;
    let mut offset = 0;
    while offset < data.len() {
        assert_eq!(head_offset(c, &cluster.rr(&url)).await, offset);
        let end = (offset + 3 * MIB).min(data.len());
        let r = patch(c, &cluster.rr(&url), offset, &data[offset..end]).await;
        assert_eq!(r.status(), 204, "{}", r.text().await.unwrap());
        offset = end;
    }
    assert_tus_stored(c, cluster, &origin, &key, &data).await;
}

/// 20 PATCHes at once at the same offset, through all three instances, each with different
/// bytes: one is taken, every other one is refused with a tus/lock code, and the stored file
/// holds the winner's bytes and nothing of the others'.
async fn concurrent_patches(c: &reqwest::Client, cluster: &Cluster) {
    let data = video(16 * MIB);
    let origin = cluster.next().to_string();
    let (url, key) = tus_create(c, &origin, data.len()).await;
    let r = patch(c, &cluster.rr(&url), 0, &data[..MIB]).await;
    assert_eq!(r.status(), 204);

    let (at, len) = (MIB, 4 * MIB);
    let variant = |i: usize| -> Vec<u8> {
        data[at..at + len]
            .iter()
            .map(|b| b ^ (i as u8 + 1))
            .collect()
    };
    // Bodies made first, then sent together.
    let bodies: Vec<Vec<u8>> = (0..20).map(variant).collect();
    let ready = std::sync::Arc::new(tokio::sync::Barrier::new(20));
    let mut racers = Vec::new();
    for (i, body) in bodies.into_iter().enumerate() {
        let (c, target, ready) = (c.clone(), cluster.rr(&url), ready.clone());
        racers.push(tokio::spawn(async move {
            ready.wait().await;
            let r = patch(&c, &target, at, &body).await;
            let status = r.status().as_u16();
            let text = r.text().await.unwrap();
            (i, status, text)
        }));
    }
    let (mut winners, mut locked, mut behind) = (Vec::new(), 0, 0);
    for racer in racers {
        let (i, status, text) = racer.await.unwrap();
        match status {
            204 => winners.push(i),
            423 | 409 => {
                let body: Value = serde_json::from_str(&text).unwrap_or_else(|_| json!(text));
                let code = body["error"]["code"].as_str().unwrap_or("");
                let want = if status == 423 {
                    "LOCKED"
                } else {
                    "OFFSET_MISMATCH"
                };
                assert_eq!(code, want, "PATCH {i}: {status} {body}");
                *(if status == 423 {
                    &mut locked
                } else {
                    &mut behind
                }) += 1;
            }
            other => panic!("PATCH {i}: {other} {text}"),
        }
    }
    assert_eq!(winners.len(), 1, "PATCHes taken: {winners:?}");
    eprintln!("20 PATCHes at once: 1 taken, {locked} × 423 LOCKED, {behind} × 409 OFFSET_MISMATCH");
    let mut want = data.clone();
    want[at..at + len].copy_from_slice(&variant(winners[0]));
    assert_eq!(head_offset(c, &cluster.rr(&url)).await, at + len);
    patch_rest(c, cluster, &url, &want, at + len, 4 * MIB).await;
    assert_tus_stored(c, cluster, &origin, &key, &want).await;
}

/// One instance is SIGKILLed while a PATCH streams into it; the upload resumes through the
/// other two from the offset HEAD reports (after the dead PATCH's lock lease, 15 s, runs out:
/// only the killed instance's own restart could release it sooner).
async fn killed_mid_patch(c: &reqwest::Client, origins: &[String], demos: &mut [Option<Demo>]) {
    let data = video(48 * MIB);
    let (victim, survivors) = (
        1,
        Cluster::new(vec![origins[0].clone(), origins[2].clone()]),
    );
    let (url, key) = tus_create(c, &origins[0], data.len()).await;
    patch_rest(c, &survivors, &url, &data[..8 * MIB], 0, 4 * MIB).await;

    // The rest in one PATCH to the victim, of which 24 MiB are sent before it is killed.
    let target = on(&origins[victim], &url);
    let host = origins[victim].trim_start_matches("http://").to_string();
    let path = target[origins[victim].len()..].to_string();
    let head = format!(
        "PATCH {path} HTTP/1.1\r\nhost: {host}\r\ntus-resumable: 1.0.0\r\n\
         content-type: application/offset+octet-stream\r\nupload-offset: {}\r\n\
         content-length: {}\r\n\r\n",
        8 * MIB,
        40 * MIB
    );
    let sent = data[8 * MIB..32 * MIB].to_vec();
    let sender = tokio::spawn(async move {
        let mut s = tokio::net::TcpStream::connect(host).await.unwrap();
        let _ = s.write_all(head.as_bytes()).await;
        for piece in sent.chunks(MIB) {
            if s.write_all(piece).await.is_err() {
                return;
            }
        }
        let _ = s.flush().await;
        tokio::time::sleep(Duration::from_secs(120)).await;
    });
    // The PATCH records its progress as it goes (every part sent to the bucket).
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = 0;
    while seen < 24 * MIB {
        assert!(Instant::now() < deadline, "the PATCH never reached 24 MiB");
        tokio::time::sleep(Duration::from_millis(20)).await;
        seen = head_offset(c, &survivors.rr(&url)).await;
    }
    demos[victim] = None; // SIGKILL
    sender.abort();

    let offset = head_offset(c, &survivors.rr(&url)).await;
    assert!(
        (seen..=32 * MIB).contains(&offset),
        "HEAD says {offset}, after {seen} was recorded and 32 MiB sent before the kill"
    );
    // The dead PATCH's lock holds until its lease runs out: 423, then the PATCH is taken.
    let resumed = Instant::now();
    let mut next = offset;
    loop {
        assert!(
            resumed.elapsed() < Duration::from_secs(60),
            "the upload never resumed"
        );
        let end = (next + 8 * MIB).min(data.len());
        let r = patch(c, &survivors.rr(&url), next, &data[next..end]).await;
        match r.status().as_u16() {
            204 => {
                next = end;
                break;
            }
            423 => tokio::time::sleep(Duration::from_millis(500)).await,
            other => panic!("resume at {next}: {other} {}", r.text().await.unwrap()),
        }
    }
    eprintln!("resumed at {offset} after {:?}", resumed.elapsed());
    patch_rest(c, &survivors, &url, &data, next, 8 * MIB).await;
    assert_tus_stored(c, &survivors, &origins[0], &key, &data).await;
}

/// A raw PATCH of `body` at `offset` to `origin`: `first` bytes of it are sent at once, the rest
/// once `go` fires; answers the status code of the reply (`None` if the connection died).
fn split_patch(
    origin: &str,
    url: &str,
    offset: usize,
    body: Vec<u8>,
    first: usize,
    go: tokio::sync::oneshot::Receiver<()>,
) -> tokio::task::JoinHandle<Option<u16>> {
    use tokio::io::AsyncReadExt;
    let target = on(origin, url);
    let host = origin.trim_start_matches("http://").to_string();
    let path = target[origin.len()..].to_string();
    let head = format!(
        "PATCH {path} HTTP/1.1\r\nhost: {host}\r\ntus-resumable: 1.0.0\r\n\
         content-type: application/offset+octet-stream\r\nupload-offset: {offset}\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    tokio::spawn(async move {
        let mut s = tokio::net::TcpStream::connect(host).await.ok()?;
        s.write_all(head.as_bytes()).await.ok()?;
        for piece in body[..first].chunks(MIB) {
            s.write_all(piece).await.ok()?;
        }
        s.flush().await.ok()?;
        go.await.ok()?;
        for piece in body[first..].chunks(MIB) {
            s.write_all(piece).await.ok()?;
        }
        s.flush().await.ok()?;
        let mut reply = Vec::new();
        s.read_to_end(&mut reply).await.ok()?;
        let line = String::from_utf8_lossy(&reply);
        line.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
    })
}

/// An instance restarted with its own id releases only the tus locks of its own dead
/// process: a PATCH streaming into another instance keeps its lock through the restart and
/// finishes. (Instances sharing one id — the default over one data dir — would release each
/// other's locks here.)
async fn a_restart_releases_only_its_own_locks<F, Fut>(
    c: &reqwest::Client,
    origins: &[String],
    restart: F,
) where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let data = video(24 * MIB);
    let (url, key) = tus_create(c, &origins[0], data.len()).await;
    let (go, wait) = tokio::sync::oneshot::channel();
    let live = split_patch(&origins[0], &url, 0, data.clone(), 12 * MIB, wait);
    let deadline = Instant::now() + Duration::from_secs(30);
    while head_offset(c, &on(&origins[2], &url)).await < 8 * MIB {
        assert!(
            Instant::now() < deadline,
            "the live PATCH never reached 8 MiB"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let restarting = Instant::now();
    restart().await;
    // The live PATCH, idle meanwhile, holds its lease for 15 s from its last block.
    assert!(
        restarting.elapsed() < Duration::from_secs(10),
        "the restart took {:?}: too slow for this test's margin",
        restarting.elapsed()
    );
    // The restarted instance (its recovery done before it serves) finds the lock held.
    let on_restarted = on(&origins[1], &url);
    let offset = head_offset(c, &on_restarted).await;
    let r = patch(c, &on_restarted, offset, &data[offset..offset + MIB]).await;
    let status = r.status().as_u16();
    let body = r.text().await.unwrap();
    assert_eq!(
        status, 423,
        "a PATCH through the restarted instance: {body}"
    );
    assert!(body.contains("\"LOCKED\""), "{body}");

    // The live PATCH goes on to the last byte.
    go.send(()).unwrap();
    let answered = tokio::time::timeout(Duration::from_secs(60), live)
        .await
        .expect("the live PATCH answers")
        .unwrap();
    assert_eq!(answered, Some(204), "the live PATCH after the restart");
    let cluster = Cluster::new(origins.to_vec());
    assert_tus_stored(c, &cluster, &origins[0], &key, &data).await;
}

/// A 24 MiB video straight to the bucket in 8 MiB parts: prepared on instance 0, two parts
/// sent, instance 0 SIGKILLed; the listing on instance 1 shows the two parts, the third goes,
/// the completion lands on instance 2, and the stored file is the video.
async fn direct_parts_through_a_kill(
    c: &reqwest::Client,
    origins: &[String],
    demos: &mut [Option<Demo>],
) {
    let data = video(24 * MIB);
    let prepared: Value = c
        .post(format!("{}/api/uploads/mediaPost", origins[0]))
        .header("x-user", "ann")
        .json(&json!({
            "files": [{ "name": "parts.mp4", "size": data.len(), "type": "video/mp4",
                        "sha256": sha(&data) }],
            "input": { "caption": "three servers" }
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let file = &prepared["files"][0];
    let plan = &file["multipart"];
    assert_eq!(plan["partCount"], 3, "a plan of three parts: {prepared}");
    let part_size = plan["partSize"].as_u64().unwrap() as usize;
    let put_part = |url: String, bytes: Vec<u8>| async move {
        let r = c.put(url).body(bytes).send().await.unwrap();
        assert_eq!(r.status(), 200, "part PUT: {}", r.text().await.unwrap());
    };
    for part in plan["parts"].as_array().unwrap().iter().take(2) {
        let n = part["partNumber"].as_u64().unwrap() as usize;
        let bytes = data[(n - 1) * part_size..(n * part_size).min(data.len())].to_vec();
        put_part(part["url"].as_str().unwrap().to_string(), bytes).await;
    }
    demos[0] = None; // SIGKILL the instance that prepared it

    let listing: Value = c
        .post(on(&origins[1], plan["partsUrl"].as_str().unwrap()))
        .json(&json!({ "first": 1, "count": 3 }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let have: Vec<u64> = listing["uploaded"]
        .as_array()
        .unwrap_or_else(|| panic!("{listing}"))
        .iter()
        .map(|p| p["partNumber"].as_u64().unwrap())
        .collect();
    assert_eq!(have, vec![1, 2], "{listing}");
    let third = listing["parts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["partNumber"] == 3)
        .unwrap_or_else(|| panic!("{listing}"));
    put_part(
        third["url"].as_str().unwrap().to_string(),
        data[2 * part_size..].to_vec(),
    )
    .await;
    let done = c
        .post(on(&origins[2], plan["completeUrl"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200, "{}", done.text().await.unwrap());
    let survivors = Cluster::new(vec![origins[1].clone(), origins[2].clone()]);
    let st = wait_complete(c, &survivors, file["statusUrl"].as_str().unwrap()).await;
    assert_eq!(st["file"]["sha256"], sha(&data), "{st}");
    assert_eq!(st["serverData"]["caption"], "three servers", "{st}");
    let got = download(c, &survivors, st["file"]["url"].as_str().unwrap()).await;
    assert!(got == data, "downloaded bytes differ");
}
