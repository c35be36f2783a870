//! `S3Storage` on a three-node Garage cluster on 127.0.0.1 (replication factor 3), started by
//! this test from the Garage binary `UPLIFT_GARAGE_BIN` names (`tools/garage.sh` installs it;
//! skipped with a note without it unless `UPLIFT_REQUIRE_S3=1`): with one node killed,
//! uploads and downloads through Uplift go on, and nothing acknowledged before is lost.
#![cfg(feature = "s3")]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::http::{client, put};
use common::{Backend, Options, TestServer};
use sha2::{Digest, Sha256};
use uplift::storage::{S3Config, MIN_PART_SIZE};
use uplift::{HttpRequest, UploadError};

const KEY_ID: &str = "GKaaaaaaaaaaaaaaaaaaaaaaaa";
const SECRET: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const BUCKET: &str = "cluster";

fn garage_bin() -> Option<PathBuf> {
    let bin = std::env::var_os("UPLIFT_GARAGE_BIN")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/garage/bin/garage"))
        });
    match bin {
        Some(b) if b.is_file() => Some(b),
        _ => {
            assert!(
                std::env::var("UPLIFT_REQUIRE_S3").as_deref() != Ok("1"),
                "UPLIFT_REQUIRE_S3=1 but no Garage binary (UPLIFT_GARAGE_BIN)"
            );
            eprintln!("no Garage binary (UPLIFT_GARAGE_BIN): skipping the cluster test");
            None
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Node {
    config: PathBuf,
    s3_port: u16,
    child: Child,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `garage -c config args…` and returns its standard output; panics on failure.
fn garage(bin: &Path, config: &Path, args: &[&str]) -> String {
    let out = Command::new(bin)
        .arg("-c")
        .arg(config)
        .args(args)
        .output()
        .expect("garage runs");
    assert!(
        out.status.success(),
        "garage {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn start_node(bin: &Path, dir: &Path, i: usize) -> Node {
    let root = dir.join(format!("node{i}"));
    std::fs::create_dir_all(root.join("meta")).unwrap();
    std::fs::create_dir_all(root.join("data")).unwrap();
    let (rpc, s3) = (free_port(), free_port());
    let config = root.join("garage.toml");
    std::fs::write(
        &config,
        format!(
            r#"metadata_dir = "{meta}"
data_dir = "{data}"
db_engine = "sqlite"
replication_factor = 3
rpc_bind_addr = "127.0.0.1:{rpc}"
rpc_public_addr = "127.0.0.1:{rpc}"
rpc_secret = "{secret}"

[s3_api]
s3_region = "garage"
api_bind_addr = "127.0.0.1:{s3}"
root_domain = ".s3.garage.localhost"
"#,
            meta = root.join("meta").display(),
            data = root.join("data").display(),
            secret = "5".repeat(64),
        ),
    )
    .unwrap();
    let log = std::fs::File::create(root.join("garage.log")).unwrap();
    let child = Command::new(bin)
        .arg("-c")
        .arg(&config)
        .arg("server")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("garage server starts");
    let node = Node {
        config,
        s3_port: s3,
        child,
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while !Command::new(bin)
        .arg("-c")
        .arg(&node.config)
        .arg("status")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
    {
        assert!(Instant::now() < deadline, "garage node {i} did not start");
        std::thread::sleep(Duration::from_millis(200));
    }
    node
}

/// Three nodes, one zone each, replication factor 3; a bucket and a key.
fn cluster(bin: &Path, dir: &Path) -> Vec<Node> {
    let nodes: Vec<Node> = (1..=3).map(|i| start_node(bin, dir, i)).collect();
    let ids: Vec<String> = nodes
        .iter()
        .map(|n| {
            garage(bin, &n.config, &["node", "id", "-q"])
                .trim()
                .to_string()
        })
        .collect();
    let first = &nodes[0].config;
    for id in &ids[1..] {
        garage(bin, first, &["node", "connect", id]);
    }
    for (i, id) in ids.iter().enumerate() {
        let node = id.split('@').next().unwrap();
        let zone = format!("dc{}", i + 1);
        garage(
            bin,
            first,
            &["layout", "assign", "-z", &zone, "-c", "1G", node],
        );
    }
    garage(bin, first, &["layout", "apply", "--version", "1"]);
    garage(
        bin,
        first,
        &["key", "import", "--yes", "-n", "cluster", KEY_ID, SECRET],
    );
    garage(bin, first, &["bucket", "create", BUCKET]);
    garage(
        bin,
        first,
        &[
            "bucket", "allow", "--read", "--write", "--owner", BUCKET, "--key", KEY_ID,
        ],
    );
    nodes
}

#[uplift::file_route(blob(max_file_size = "32MB", max_file_count = 1), on_upload_complete = done)]
async fn blobs(_req: HttpRequest) -> Result<(), UploadError> {
    Ok(())
}

async fn done(_meta: (), _file: uplift::UploadedFile) -> Result<(), UploadError> {
    Ok(())
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(13).wrapping_add(seed))
        .collect()
}

/// Prepare + PUT through the server; the download URL.
async fn upload(srv: &TestServer, body: &[u8]) -> String {
    let c = client();
    let prepared = srv
        .prepare_one(&c, "blobs", "b.bin", body.len(), "application/octet-stream")
        .await;
    let done = put(
        &c,
        prepared["uploadUrl"].as_str().unwrap(),
        None,
        body.to_vec(),
    )
    .await
    .ok();
    done["file"]["url"].as_str().unwrap().to_string()
}

/// Follows the redirect to the bucket; the bytes' SHA-256.
async fn download_sha(url: &str) -> Vec<u8> {
    let res = client().get(url).send().await.unwrap();
    assert_eq!(res.status(), 200, "download of {url}");
    Sha256::digest(res.bytes().await.unwrap()).to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_and_downloads_go_on_with_one_node_down() {
    let Some(bin) = garage_bin() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut nodes = cluster(&bin, dir.path());
    let endpoint = format!("http://127.0.0.1:{}", nodes[0].s3_port);
    let config = S3Config::new(endpoint, "garage", BUCKET, KEY_ID, SECRET).part_size(MIN_PART_SIZE);
    let srv = TestServer::start_with(
        uplift::router![blobs],
        Options {
            storage: Backend::S3,
            s3_config: Some(config),
            ..Options::default()
        },
    );
    // The layout takes a moment to reach every node: retry the first upload briefly.
    let small = pattern(1000, 1);
    let big = pattern(2 * MIN_PART_SIZE + 77, 2);
    let deadline = Instant::now() + Duration::from_secs(30);
    let small_url = loop {
        let c = client();
        let prepared = srv
            .prepare_one(
                &c,
                "blobs",
                "s.bin",
                small.len(),
                "application/octet-stream",
            )
            .await;
        let r = put(
            &c,
            prepared["uploadUrl"].as_str().unwrap(),
            None,
            small.clone(),
        )
        .await;
        if r.status == 200 {
            break r.ok()["file"]["url"].as_str().unwrap().to_string();
        }
        assert!(
            Instant::now() < deadline,
            "the cluster never took an upload: {:?}",
            r.json()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let big_url = upload(&srv, &big).await;

    // One node (not the one Uplift talks to) dies.
    let dead = nodes.pop().unwrap();
    drop(dead);

    // What was acknowledged is all there; new uploads, small and multipart, go on.
    assert_eq!(
        download_sha(&small_url).await,
        Sha256::digest(&small).to_vec()
    );
    assert_eq!(download_sha(&big_url).await, Sha256::digest(&big).to_vec());
    let after = pattern(MIN_PART_SIZE + 5, 3);
    let after_url = upload(&srv, &after).await;
    assert_eq!(
        download_sha(&after_url).await,
        Sha256::digest(&after).to_vec()
    );
    let tiny = pattern(10, 4);
    let tiny_url = upload(&srv, &tiny).await;
    assert_eq!(
        download_sha(&tiny_url).await,
        Sha256::digest(&tiny).to_vec()
    );
    drop(srv);
    drop(nodes);
}
