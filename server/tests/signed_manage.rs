//! Managing signed-upload objects over HTTP: deleting with a signed `DELETE` URL or a token
//! that may delete, listing a folder with a token that may list — and every refusal (no
//! right, another folder, a changed or expired URL, an unsafe path), after which nothing was
//! deleted and nothing else was listed. A deleted object is never served again.

mod common;

use std::time::Duration;

use common::backend::Db;
use common::fixtures::text;
use common::http::{client, Resp};
use common::signed::*;
use common::{Options, TestServer};
use uplift::TokenRequest;

fn token(srv: &TestServer, dir: &str, delete: bool, list: bool) -> String {
    srv.signed
        .create_token(TokenRequest {
            dir: dir.into(),
            expire_time: Some(Duration::from_secs(600)),
            allow_delete: delete,
            allow_list: list,
        })
        .unwrap()
        .token
}

/// Stores `folder/name` with a token upload; its signed GET URL.
async fn store(srv: &TestServer, folder: &str, name: &str) -> String {
    let t = token(srv, folder, false, false);
    let r = Resp::read(
        client()
            .put(format!("{}/objects/{folder}/{name}", srv.base))
            .bearer_auth(t)
            .header("content-type", "text/plain")
            .body(text(32))
            .send()
            .await
            .unwrap(),
    )
    .await;
    file_of(&r);
    srv.signed
        .get_signed_url(&format!("{folder}/{name}"), Duration::from_secs(600))
        .unwrap()
}

async fn send(rb: reqwest::RequestBuilder) -> Resp {
    Resp::read(rb.send().await.unwrap()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_delete_url_deletes_its_object_only_and_it_is_never_served_again() {
    let srv = TestServer::start(uplift::Router::new());
    let c = client();
    let get_a = store(&srv, "team/docs", "a.txt").await;
    store(&srv, "team/docs", "b.txt").await;
    assert_eq!(c.get(&get_a).send().await.unwrap().status(), 200);

    let url = srv
        .signed
        .get_signed_delete("team/docs/a.txt", Duration::from_secs(60))
        .unwrap();
    let f = file_of(&send(c.delete(&url)).await);
    assert_eq!(
        (f["folder"].as_str(), f["filename"].as_str()),
        (Some("team/docs"), Some("a.txt"))
    );
    // Its signed GET URL, handed out before, answers 404; the bytes are gone.
    assert_eq!(c.get(&get_a).send().await.unwrap().status(), 404);
    assert_eq!(object_paths(&srv), vec!["team/docs/b.txt"]);
    // Again: nothing there.
    refused(&send(c.delete(&url)).await, 404, "NOT_FOUND");

    // The URL is for one path and one method: another path, a changed expiry, a GET URL.
    let b_url = url.replace("a.txt", "b.txt");
    refused(&send(c.delete(&b_url)).await, 403, "SIGNATURE_INVALID");
    let get_b = srv
        .signed
        .get_signed_url("team/docs/b.txt", Duration::from_secs(60))
        .unwrap();
    refused(&send(c.delete(&get_b)).await, 403, "SIGNATURE_INVALID");
    let short = srv
        .signed
        .get_signed_delete("team/docs/b.txt", Duration::from_secs(1))
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    refused(&send(c.delete(&short)).await, 410, "EXPIRED");
    // Neither a URL nor a token.
    let bare = format!("{}/objects/team/docs/b.txt", srv.base);
    refused(&send(c.delete(&bare)).await, 401, "UNAUTHORIZED");
    assert_eq!(object_paths(&srv), vec!["team/docs/b.txt"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_deletes_in_its_folder_only_when_it_may() {
    let srv = TestServer::start(uplift::Router::new());
    let c = client();
    store(&srv, "team/docs", "a.txt").await;
    store(&srv, "other", "x.txt").await;
    let url = |p: &str| format!("{}/objects/{p}", srv.base);
    // An upload-only token may not delete.
    let upload_only = token(&srv, "team", false, false);
    let e = refused(
        &send(c.delete(url("team/docs/a.txt")).bearer_auth(&upload_only)).await,
        403,
        "TOKEN_SCOPE",
    );
    assert_eq!(e["data"]["needs"], "delete");
    // One that may, but for another folder.
    let elsewhere = token(&srv, "team", true, false);
    refused(
        &send(c.delete(url("other/x.txt")).bearer_auth(&elsewhere)).await,
        403,
        "TOKEN_SCOPE",
    );
    // In its folder (and below): deleted.
    file_of(&send(c.delete(url("team/docs/a.txt")).bearer_auth(&elsewhere)).await);
    assert_eq!(object_paths(&srv), vec!["other/x.txt"]);
    refused(
        &send(c.delete(url("team/docs/a.txt")).bearer_auth(&elsewhere)).await,
        404,
        "NOT_FOUND",
    );
    // A path that climbs out of the folder (the URL parser may resolve the `..` first: then
    // it names another folder) is refused either way.
    let r = send(
        c.delete(format!("{}/objects/team/%2e%2e/other/x.txt", srv.base))
            .bearer_auth(&elsewhere),
    )
    .await;
    assert!(matches!(r.status, 400 | 403), "{}", r.status);
    assert_eq!(object_paths(&srv), vec!["other/x.txt"]);
}

async fn a_token_lists_its_folder_page_by_page_and_nothing_else(db: Db) {
    let srv = TestServer::start_with(uplift::Router::new(), db.options(Options::default()));
    let c = client();
    for name in ["a.txt", "b.txt", "c.txt"] {
        store(&srv, "team/docs", name).await;
    }
    store(&srv, "team/docs/deep", "d.txt").await;
    store(&srv, "team/docsx", "not-mine.txt").await;
    store(&srv, "Team/docs", "case.txt").await;
    let list = |dir: &str, extra: &str, t: &str| {
        c.get(format!("{}/objects?dir={dir}{extra}", srv.base))
            .bearer_auth(t.to_string())
    };
    let lister = token(&srv, "team/docs", false, true);
    let page = send(list("team/docs", "&limit=3", &lister)).await.ok();
    let paths: Vec<String> = page["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            format!(
                "{}/{}",
                o["folder"].as_str().unwrap(),
                o["filename"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        paths,
        vec!["team/docs/a.txt", "team/docs/b.txt", "team/docs/c.txt"]
    );
    let cursor = page["nextCursor"].as_str().unwrap().to_string();
    let rest = send(list("team/docs", &format!("&cursor={cursor}"), &lister))
        .await
        .ok();
    assert_eq!(rest["objects"][0]["filename"], "d.txt");
    assert_eq!(
        rest["objects"].as_array().unwrap().len(),
        1,
        "not team/docsx, not Team/docs: {rest}"
    );
    assert!(rest["nextCursor"].is_null());
    // Private objects come with a signed URL that works.
    let url = page["objects"][0]["url"].as_str().unwrap();
    assert_eq!(c.get(url).send().await.unwrap().status(), 200);

    // Refusals: no right, another folder, no token, a bad folder or limit.
    let no_list = token(&srv, "team/docs", true, false);
    refused_plain(
        &send(list("team/docs", "", &no_list)).await,
        403,
        "TOKEN_SCOPE",
    );
    refused_plain(&send(list("team", "", &lister)).await, 403, "TOKEN_SCOPE");
    refused_plain(
        &send(list("team/docsx", "", &lister)).await,
        403,
        "TOKEN_SCOPE",
    );
    let r = send(c.get(format!("{}/objects?dir=team/docs", srv.base))).await;
    refused_plain(&r, 401, "UNAUTHORIZED");
    refused_plain(
        &send(list("team/docs/..", "", &lister)).await,
        400,
        "INVALID_PATH",
    );
    refused_plain(
        &send(list("team/docs", "&limit=0", &lister)).await,
        400,
        "BAD_REQUEST",
    );
}

/// A refusal outside the file envelope: `{ "error": … }`.
fn refused_plain(r: &Resp, status: u16, code: &str) {
    r.error(status, code);
}

on_both_backends!(a_token_lists_its_folder_page_by_page_and_nothing_else);
