//! Crash and stall safety of uploads over real HTTP: a tus writer that lost its lease never
//! touches the stored bytes, long PATCHes checkpoint their offset, HEAD never reports an
//! undecided completion as done, and a slow but live PUT is not swept as dead.

mod common;

use std::time::{Duration, Instant};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;
use uplift::{Limits, LocalStorage, Records, Uplift, UploadError, UploadedFile};

use common::fixtures;
use common::http::{client, put_head, read_response, Resp, PATIENCE};
use common::{Options, TestServer, SECRET};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Meta {
    pub user: String,
}

async fn stored(_meta: Meta, file: UploadedFile) -> Result<Value, UploadError> {
    Ok(json!({ "sha256": file.sha256, "type": file.content_type }))
}

async fn slowly_stored(_meta: Meta, file: UploadedFile) -> Result<Value, UploadError> {
    tokio::time::sleep(Duration::from_millis(600)).await;
    Ok(json!({ "sha256": file.sha256 }))
}

async fn stuck(_meta: Meta, file: UploadedFile) -> Result<Value, UploadError> {
    tokio::time::sleep(Duration::from_secs(4)).await;
    Ok(json!({ "sha256": file.sha256 }))
}

async fn anyone() -> Result<Meta, UploadError> {
    Ok(Meta { user: "ann".into() })
}

/// Images, answered with what was stored.
#[uplift::file_route(image(max_file_size = "4MB"), await_server_data = true, on_upload_complete = stored)]
async fn pictures() -> Result<Meta, UploadError> {
    anyone().await
}

/// Images whose hook takes 0.6 s.
#[uplift::file_route(image(max_file_size = "4MB"), await_server_data = true, on_upload_complete = slowly_stored)]
async fn slow_pictures() -> Result<Meta, UploadError> {
    anyone().await
}

/// Images whose hook takes 4 s: longer than the 1 s lease of these tests.
#[uplift::file_route(image(max_file_size = "4MB"), await_server_data = true, on_upload_complete = stuck)]
async fn stuck_pictures() -> Result<Meta, UploadError> {
    anyone().await
}

/// Videos, for long PATCHes.
#[uplift::file_route(video(max_file_size = "64MB"), on_upload_complete = stored)]
async fn clips() -> Result<Meta, UploadError> {
    anyone().await
}

fn router() -> uplift::Router {
    uplift::router![pictures, slow_pictures, stuck_pictures, clips]
}

const MIB: usize = 1024 * 1024;

fn short_lease() -> Limits {
    Limits {
        tus_lock_lease: Duration::from_secs(1),
        stale_upload_after: Duration::from_secs(1),
        ..Limits::default()
    }
}

fn server(limits: Limits) -> TestServer {
    TestServer::start_with(
        router(),
        Options {
            configure: Box::new(move |b| b.limits(limits.clone())),
            ..Options::default()
        },
    )
}

async fn create(
    srv: &TestServer,
    slug: &str,
    name: &str,
    ty: &str,
    length: usize,
) -> (String, String) {
    let meta = format!(
        "filename {},filetype {}",
        STANDARD.encode(name),
        STANDARD.encode(ty)
    );
    let r = Resp::read(
        client()
            .post(format!("{}/{slug}/tus", srv.base))
            .header("tus-resumable", "1.0.0")
            .header("upload-length", length.to_string())
            .header("upload-metadata", meta)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.bytes));
    (
        r.header("location").unwrap(),
        r.header("uplift-key").unwrap(),
    )
}

async fn patch(url: &str, offset: usize, body: &[u8]) -> Resp {
    Resp::read(
        client()
            .patch(url)
            .header("tus-resumable", "1.0.0")
            .header("content-type", "application/offset+octet-stream")
            .header("upload-offset", offset.to_string())
            .body(body.to_vec())
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn head(url: &str) -> Resp {
    Resp::read(
        client()
            .head(url)
            .header("tus-resumable", "1.0.0")
            .send()
            .await
            .unwrap(),
    )
    .await
}

fn server_data(r: &Resp) -> Value {
    let raw = r.header("uplift-server-data").expect("Uplift-Server-Data");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(raw).unwrap()).unwrap()
}

/// A raw PATCH whose head and first bytes are sent; the caller sends the rest (or not).
async fn start_patch(
    srv: &TestServer,
    url: &str,
    offset: usize,
    length: usize,
    first: &[u8],
) -> tokio::net::TcpStream {
    let head = format!(
        "PATCH {} HTTP/1.1\r\nHost: 127.0.0.1\r\nTus-Resumable: 1.0.0\r\n\
         Content-Type: application/offset+octet-stream\r\nUpload-Offset: {offset}\r\n\
         Content-Length: {length}\r\n\r\n",
        srv.target(url)
    );
    let mut s = srv.connect().await;
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(first).await.unwrap();
    s.flush().await.unwrap();
    s
}

/// HTML of exactly `size` bytes: what a stale writer must never get into a stored PNG.
fn html(size: usize) -> Vec<u8> {
    let mut v = fixtures::html();
    v.extend(std::iter::repeat_n(b' ', size - v.len()));
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_patch_that_lost_its_lease_never_touches_the_stored_bytes() {
    let srv = server(short_lease());
    let size = 256 * 1024;
    let (png, stale) = (fixtures::png(size), html(size));
    let (url, key) = create(&srv, "pictures", "p.png", "image/png", size).await;

    // A first PATCH sends 16 KiB of HTML, then stalls past its 1 s lease.
    let mut first = start_patch(&srv, &url, 0, size, &stale[..16 * 1024]).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;

    // A second PATCH takes the upload over once the lease ran out, and completes it.
    let deadline = Instant::now() + PATIENCE;
    let done = loop {
        let r = patch(&url, 0, &png).await;
        if r.status != 423 {
            break r;
        }
        assert!(Instant::now() < deadline, "the lease never ran out");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(done.status, 204, "{}", String::from_utf8_lossy(&done.bytes));
    let want = fixtures::sha256_hex(&png);
    assert_eq!(server_data(&done)["sha256"], want);

    // The first one wakes up and sends different bytes: refused, and nothing of it lands.
    let _ = first.write_all(&stale[16 * 1024..]).await;
    let _ = first.flush().await;
    let answer = read_response(&mut first).await;
    if let Some(a) = &answer {
        common::http::assert_error(a.status, &a.body, 423, "LOCKED");
    }
    drop(first);
    tokio::time::sleep(Duration::from_millis(200)).await;

    let on_disk = srv.stored_bytes(&key);
    assert!(on_disk == png, "the stored bytes changed after completion");
    let st = srv.wait_status(&client(), &key, "complete").await;
    assert_eq!(st["file"]["sha256"], want, "{st}");
    assert_eq!(st["file"]["type"], "image/png", "{st}");
    let served = client()
        .get(st["file"]["url"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(
        served.as_ref() == png.as_slice(),
        "the served bytes are not the completed ones"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_patch_records_its_offset_while_it_streams() {
    // The default 15 s lease: only the byte cadence can record progress here.
    let srv = server(Limits::default());
    let data = fixtures::mp4(32 * MIB);
    let (url, _key) = create(&srv, "clips", "c.mp4", "video/mp4", data.len()).await;
    let mut s = start_patch(&srv, &url, 0, data.len(), &data[..20 * MIB]).await;

    // While the PATCH is still open, HEAD reports the checkpoint at 16 MiB: it lands though
    // no more bytes come. (On S3, a part boundary: parts of 5 MiB in these tests.)
    let least = if common::Backend::default() == common::Backend::Local {
        16 * MIB
    } else {
        8 * MIB
    };
    let deadline = Instant::now() + PATIENCE;
    let recorded = loop {
        let r = head(&url).await;
        assert_eq!(r.status, 200);
        let o: usize = r.header("upload-offset").unwrap().parse().unwrap();
        if o >= least {
            break o;
        }
        assert!(
            Instant::now() < deadline,
            "no checkpoint while streaming: {o}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(recorded <= 20 * MIB, "{recorded}");
    // The client goes away; it resumes from what was recorded and finishes.
    s.shutdown().await.unwrap();
    drop(s);
    let deadline = Instant::now() + PATIENCE;
    let mut offset = loop {
        let r = patch(&url, recorded, &[]).await;
        match r.status {
            204 | 409 => {
                break head(&url)
                    .await
                    .header("upload-offset")
                    .unwrap()
                    .parse::<usize>()
                    .unwrap()
            }
            423 => {}
            other => panic!("{other}: {}", String::from_utf8_lossy(&r.bytes)),
        }
        assert!(Instant::now() < deadline, "the PATCH never ended");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(offset >= recorded && offset <= 20 * MIB, "{offset}");
    while offset < data.len() {
        let end = (offset + 8 * MIB).min(data.len());
        let r = patch(&url, offset, &data[offset..end]).await;
        assert_eq!(r.status, 204, "{}", String::from_utf8_lossy(&r.bytes));
        offset = end;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_patch_refused_after_its_checkpoints_keeps_the_last_one() {
    let srv = server(Limits::default());
    let data = fixtures::mp4(18 * MIB);
    let (url, key) = create(&srv, "clips", "c.mp4", "video/mp4", data.len()).await;
    // One byte more than the upload: refused at the end of the body, after the checkpoints
    // every 4 MiB, the last at 16 MiB, ran beside the bytes that followed them.
    let mut body = data.clone();
    body.push(0);
    let r = patch(&url, 0, &body).await;
    common::http::assert_error(r.status, &r.json(), 413, "TOO_LARGE");
    // The last checkpoint's offset stays, recorded, and the file holds exactly those bytes.
    let offset: usize = head(&url)
        .await
        .header("upload-offset")
        .unwrap()
        .parse()
        .unwrap();
    // On S3, the last part boundary before the refusal (parts of 5 MiB in these tests).
    assert!((8 * MIB..data.len()).contains(&offset), "{offset}");
    if common::Backend::default() == common::Backend::Local {
        assert!(offset >= 16 * MIB, "{offset}");
        let file = srv.data_dir.join("files").join(".tus").join(&key);
        assert_eq!(std::fs::metadata(&file).unwrap().len(), offset as u64);
        assert!(std::fs::read(&file).unwrap() == data[..offset]);
    }
    // The client resumes from there, and the stored file is the whole upload.
    let r = patch(&url, offset, &data[offset..]).await;
    assert_eq!(r.status, 204, "{}", String::from_utf8_lossy(&r.bytes));
    let st = srv.wait_status(&client(), &key, "complete").await;
    assert_eq!(st["file"]["sha256"], fixtures::sha256_hex(&data), "{st}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_waits_for_a_live_completion_and_answers_its_outcome() {
    let srv = server(short_lease());
    let png = fixtures::png(4096);
    let (url, _) = create(&srv, "slowPictures", "p.png", "image/png", png.len()).await;
    let last = {
        let url = url.clone();
        let png = png.clone();
        tokio::spawn(async move { patch(&url, 0, &png).await })
    };
    // HEAD while the hook runs: it answers once the hook answered, with its server data.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let r = head(&url).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("upload-offset").unwrap(), png.len().to_string());
    assert_eq!(server_data(&r)["sha256"], fixtures::sha256_hex(&png));
    assert_eq!(last.await.unwrap().status, 204);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_answers_423_while_a_completion_stays_undecided() {
    let srv = server(short_lease());
    let png = fixtures::png(4096);
    let (url, key) = create(&srv, "stuckPictures", "p.png", "image/png", png.len()).await;
    let last = {
        let url = url.clone();
        let png = png.clone();
        tokio::spawn(async move { patch(&url, 0, &png).await })
    };
    srv.wait_status(&client(), &key, "completing").await;
    let started = Instant::now();
    let r = head(&url).await;
    // Not the full offset while the hook (4 s) may still fail: 423 after waiting one lease.
    assert_eq!(r.status, 423);
    assert_eq!(r.header("retry-after").as_deref(), Some("1"));
    assert!(r.header("upload-offset").is_none());
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(last.await.unwrap().status, 204);
    let r = head(&url).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("upload-offset").unwrap(), png.len().to_string());
}

/// A second app on the same records and files (another server instance), to sweep with.
async fn sweeper(srv: &TestServer, limits: Limits) -> Uplift {
    Uplift::builder(router())
        .shared_storage(srv.storage())
        .records(Records::connect(&srv.db_url).await.unwrap())
        .secret(SECRET)
        .instance_id("sweeper")
        .limits(limits)
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_but_live_put_is_not_swept_as_dead() {
    let srv = server(short_lease());
    let png = fixtures::png(64 * 1024);
    let c = client();
    let prepared = srv
        .prepare(
            &c,
            "pictures",
            json!([common::http::decl("p.png", png.len(), "image/png")]),
            Value::Null,
        )
        .await
        .ok()["files"][0]
        .clone();
    let key = prepared["key"].as_str().unwrap().to_string();
    let target = srv.target(prepared["uploadUrl"].as_str().unwrap());
    let mut s = srv.connect().await;
    s.write_all(
        put_head(
            &target,
            "image/png",
            &format!("Content-Length: {}", png.len()),
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let sweeper = sweeper(&srv, short_lease()).await;
    // 2.4 s of slow streaming, swept every 300 ms with a 1 s stale rule: never failed.
    for piece in png.chunks(png.len() / 8) {
        s.write_all(piece).await.unwrap();
        s.flush().await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let report = sweeper.sweep().await.unwrap();
        assert_eq!(report.failed_stale, 0, "a live upload was swept");
    }
    let r = read_response(&mut s).await.expect("an answer");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(srv.status(&c, &key).await["status"], "complete");

    // A PUT whose client stalls (no bytes, but the server is alive) is not swept either…
    let prepared = srv
        .prepare(
            &c,
            "pictures",
            json!([common::http::decl("q.png", png.len(), "image/png")]),
            Value::Null,
        )
        .await
        .ok()["files"][0]
        .clone();
    let key = prepared["key"].as_str().unwrap().to_string();
    let target = srv.target(prepared["uploadUrl"].as_str().unwrap());
    let mut s = srv.connect().await;
    s.write_all(
        put_head(
            &target,
            "image/png",
            &format!("Content-Length: {}", png.len()),
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    s.write_all(&png[..1000]).await.unwrap();
    s.flush().await.unwrap();
    srv.wait_status(&c, &key, "uploading").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(sweeper.sweep().await.unwrap().failed_stale, 0);
    assert_eq!(srv.status(&c, &key).await["status"], "uploading");
    drop(s);
    // …and a client that went away fails it at once.
    srv.wait_status(&c, &key, "failed").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completions_past_their_deadline_are_failed_by_the_sweep() {
    let srv = server(short_lease());
    let png = fixtures::png(4096);
    let (url, key) = create(&srv, "stuckPictures", "p.png", "image/png", png.len()).await;
    let last = {
        let url = url.clone();
        tokio::spawn(async move { patch(&url, 0, &png).await })
    };
    srv.wait_status(&client(), &key, "completing").await;
    let sweeper = sweeper(
        &srv,
        Limits {
            completion_deadline: Duration::from_millis(500),
            ..Limits::default()
        },
    )
    .await;
    assert_eq!(
        sweeper.sweep().await.unwrap().failed_completing,
        0,
        "too early"
    );
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(sweeper.sweep().await.unwrap().failed_completing, 1);
    let st = srv.status(&client(), &key).await;
    assert_eq!(st["status"], "failed", "{st}");
    assert_eq!(st["error"]["code"], "COMPLETION_FAILED", "{st}");
    // The hook's late answer does not bring it back.
    let _ = last.await.unwrap();
    assert_eq!(srv.status(&client(), &key).await["status"], "failed");
}

#[tokio::test]
async fn instance_ids_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let build = |id: &str| {
        let id = id.to_string();
        let dir = dir.path().to_path_buf();
        async move {
            Uplift::builder(router())
                .storage(LocalStorage::new(dir.join("files")).unwrap())
                .records(Records::connect("sqlite::memory:").await.unwrap())
                .secret(SECRET)
                .instance_id(id)
                .build()
        }
    };
    assert!(matches!(
        build("a b").await,
        Err(uplift::ConfigError::InstanceId(_))
    ));
    assert!(matches!(
        build("").await,
        Err(uplift::ConfigError::InstanceId(_))
    ));
    assert_eq!(build("node-1").await.unwrap().instance_id(), "node-1");
}
