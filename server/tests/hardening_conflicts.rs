//! A file and a folder cannot share a name: a signed upload through a file (`a.txt/b.txt`) or
//! onto a folder (`dir` when `dir/x.txt` exists) is a `CONFLICT`, recognised by
//! `io::ErrorKind` rather than by raw Linux errno values; lookups through a file find nothing.

mod common;

use common::fixtures::text;
use common::http::{client, put, Resp};
use common::signed::*;
use common::TestServer;
use uplift::{Acl, SignOptions};

fn sign(srv: &TestServer, folder: &str, filename: &str) -> String {
    srv.signed
        .get_signed_put_with(
            folder,
            &SignOptions {
                filename: Some(filename.into()),
                acl: Acl::PublicRead,
                ..Default::default()
            },
        )
        .unwrap()
        .upload_url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_and_folders_cannot_share_a_name() {
    let srv = TestServer::start(uplift::Router::new());
    let c = client();
    let r = put(
        &c,
        &sign(&srv, "box", "a.txt"),
        Some("text/plain"),
        text(10),
    )
    .await;
    file_of(&r);
    let r = put(
        &c,
        &sign(&srv, "box/dir", "x.txt"),
        Some("text/plain"),
        text(11),
    )
    .await;
    file_of(&r);

    // through a file (ENOTDIR)
    let r = put(
        &c,
        &sign(&srv, "box/a.txt", "b.txt"),
        Some("text/plain"),
        text(12),
    )
    .await;
    refused(&r, 409, "CONFLICT");
    // onto a folder (EISDIR)
    let r = put(&c, &sign(&srv, "box", "dir"), Some("text/plain"), text(13)).await;
    refused(&r, 409, "CONFLICT");
    assert_eq!(
        object_paths(&srv),
        vec!["box/a.txt".to_string(), "box/dir/x.txt".to_string()]
    );

    // a GET through a file names nothing
    let r = Resp::read(
        c.get(format!("{}/objects/box/a.txt/b.txt", srv.base))
            .send()
            .await
            .unwrap(),
    )
    .await;
    r.error(404, "NOT_FOUND");
}
