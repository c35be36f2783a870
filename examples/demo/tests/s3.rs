//! The demo binary with its files in an S3-compatible bucket (`UPLIFT_S3_*`, Garage in CI;
//! skipped with a note when unset unless `UPLIFT_REQUIRE_S3=1`): the private PDF route, whose
//! awaited hook reads the stored file back from the bucket, and a download that redirects to
//! a presigned `GET` of the bucket.

use std::time::Duration;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

mod common;
use common::{free_port, hex, pdf, start_with};

#[tokio::test]
async fn the_demo_stores_in_the_bucket_and_its_hook_reads_the_file_back() {
    if std::env::var("UPLIFT_S3_ENDPOINT").map_or(true, |v| v.is_empty()) {
        assert!(
            std::env::var("UPLIFT_REQUIRE_S3").as_deref() != Ok("1"),
            "UPLIFT_REQUIRE_S3=1 but UPLIFT_S3_ENDPOINT is not set"
        );
        eprintln!("UPLIFT_S3_ENDPOINT not set: skipping the demo's S3 test");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let prefix = format!("demo{:016x}/", rand_u64());
    let demo = start_with(
        dir.path(),
        free_port(),
        &[("UPLIFT_S3_KEY_PREFIX", prefix.as_str())],
    )
    .await;
    let base = format!("{}/api/uploads", demo.1);
    let c = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let body = pdf(4);
    let prepared: Value = c
        .post(format!("{base}/documentReview"))
        .header("x-user", "ann")
        .json(&json!({
            "files": [{ "name": "contract.pdf", "size": body.len(), "type": "application/pdf" }],
            "input": null
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = prepared["files"][0]["uploadUrl"]
        .as_str()
        .unwrap_or_else(|| panic!("{prepared}"));
    let done: Value = c
        .put(url)
        .body(body.clone())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(done["status"], "complete", "{done}");
    // The awaited hook read the PDF back from the bucket and counted its pages.
    assert_eq!(done["serverData"]["pagesEstimate"], 4, "{done}");
    let sha = hex(&Sha256::digest(&body));
    assert_eq!(done["serverData"]["sha256"], sha.as_str());

    // Private file: its signed download URL redirects to the bucket, as an attachment.
    let res = c
        .get(done["file"]["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 307);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with(&std::env::var("UPLIFT_S3_ENDPOINT").unwrap()));
    let got = reqwest::get(&location).await.unwrap();
    assert_eq!(got.status(), 200);
    assert!(got.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    assert_eq!(got.bytes().await.unwrap().as_ref(), &body[..]);
    // Nothing on the demo's own disk but its records and the tus directory.
    let files = dir.path().join("files");
    let local: Vec<_> = std::fs::read_dir(&files)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| !n.starts_with('.'))
                .collect()
        })
        .unwrap_or_default();
    assert!(local.is_empty(), "{local:?}");
}

fn rand_u64() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    let t = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    t.as_nanos() as u64 ^ u64::from(std::process::id())
}
