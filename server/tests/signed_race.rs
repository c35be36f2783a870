//! `prevent_overwrite` under a race: 50 concurrent PUTs to one key, each with its own signed
//! URL and its own bytes. Exactly one wins; the others get 412; the stored bytes are the
//! winner's and its record agrees.

mod common;

use common::fixtures::sha256_hex;
use common::http::{client, put};
use common::signed::{file_of, objects, refused};
use common::TestServer;
use uplift::SignOptions;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_writers_one_winner() {
    let srv = TestServer::start(uplift::Router::new());
    let c = client();
    let opts = SignOptions {
        filename: Some("one.bin".into()),
        prevent_overwrite: true,
        ..Default::default()
    };
    let mut tasks = Vec::new();
    for i in 0..50u8 {
        let url = srv
            .signed
            .get_signed_put_with("race", &opts)
            .unwrap()
            .upload_url;
        let body: Vec<u8> = (0..64 * 1024).map(|j| (j as u8) ^ i).collect();
        let c = c.clone();
        tasks.push(tokio::spawn(async move {
            let r = put(&c, &url, Some("application/octet-stream"), body.clone()).await;
            (r, body)
        }));
    }
    let mut winners = Vec::new();
    let mut refused_count = 0;
    for t in tasks {
        let (r, body) = t.await.unwrap();
        if r.status == 200 {
            winners.push((file_of(&r), body));
        } else {
            refused(&r, 412, "PRECONDITION_FAILED");
            refused_count += 1;
        }
    }
    assert_eq!(winners.len(), 1, "exactly one writer wins");
    assert_eq!(refused_count, 49);
    let (file, body) = &winners[0];
    assert_eq!(file["sha256"], sha256_hex(body));
    assert_eq!(
        objects(&srv),
        vec![("race/one.bin".to_string(), body.clone())]
    );
    // The record is the winner's too.
    let got = srv
        .signed
        .get_signed_url("race/one.bin", std::time::Duration::from_secs(60))
        .unwrap();
    let served = c.get(&got).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(&served[..], &body[..]);
    srv.assert_no_staged().await;
}
