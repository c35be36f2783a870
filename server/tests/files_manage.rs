//! Managing stored files over real HTTP, on SQLite and PostgreSQL: a listing (filters, cursor
//! pages stable under concurrent uploads, nobody else's files), rename, ACL changes that change
//! the URLs, deletion (bytes and record, never served again, the `on_delete` hook, idempotent),
//! every refusal (no session, another caller's file, a file still uploading, a bad cursor or
//! body), concurrent deletes and renames of one file, and the Rust API (`Uplift::files`).

mod common;

use std::sync::Mutex;
use std::time::Duration;

use common::backend::Db;
use common::http::{client, Resp};
use common::{Options, TestServer};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uplift::protocol::FileInfo;
use uplift::{Acl, FileQuery, FilesAccess, HttpRequest, UploadError, UploadedFile};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Owner {
    user: String,
}

/// Files deleted, as the `on_delete` hook heard of them: (user, key).
static DELETED: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

fn user_of(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get("x-user")
        .and_then(|v| v.to_str().ok())
        .filter(|u| !u.is_empty())
        .map(str::to_string)
}

async fn stored(_meta: Owner, _file: UploadedFile) -> Result<(), UploadError> {
    Ok(())
}

async fn forget(meta: Option<Owner>, file: FileInfo) {
    let user = meta.map(|m| m.user).unwrap_or_default();
    DELETED.lock().unwrap().push((user, file.key));
}

#[uplift::file_route(blob(max_file_size = "1MB", max_file_count = 4), await_server_data, on_upload_complete = stored, on_delete = forget)]
async fn papers(req: HttpRequest) -> Result<Owner, UploadError> {
    let user = user_of(&req).ok_or_else(|| UploadError::unauthorized("sign in"))?;
    Ok(Owner { user })
}

#[uplift::file_route(text(max_file_size = "1MB"), await_server_data, on_upload_complete = stored)]
async fn notes(req: HttpRequest) -> Result<Owner, UploadError> {
    let user = user_of(&req).ok_or_else(|| UploadError::unauthorized("sign in"))?;
    Ok(Owner { user })
}

/// Ann and Bob manage their own files; `admin` manages everyone's; nobody else anything.
fn router() -> uplift::Router {
    uplift::router![papers, notes].manage_files(|req| match user_of(req).as_deref() {
        Some("admin") => Ok(FilesAccess::All),
        Some(user) => Ok(FilesAccess::Owner(user.to_string())),
        None => Err(UploadError::unauthorized("sign in to manage your files")),
    })
}

fn server(db: &Db) -> TestServer {
    TestServer::start_with(
        router(),
        db.options(Options {
            configure: Box::new(|b| b.caller(user_of)),
            ..Options::default()
        }),
    )
}

/// Uploads `name` through `slug` as `user` in one multipart request; its key.
async fn upload(srv: &TestServer, user: &str, slug: &str, name: &str, body: &[u8]) -> String {
    let ty = if slug == "notes" {
        "text/plain"
    } else {
        "application/octet-stream"
    };
    let part = reqwest::multipart::Part::bytes(body.to_vec())
        .file_name(name.to_string())
        .mime_str(ty)
        .unwrap();
    let form = reqwest::multipart::Form::new().part("file", part);
    let r = Resp::read(
        client()
            .post(srv.url(&format!("/{slug}/multipart")))
            .header("x-user", user)
            .multipart(form)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let body = r.ok();
    assert_eq!(body["files"][0]["status"], "complete", "{body}");
    body["files"][0]["key"].as_str().unwrap().to_string()
}

async fn call(
    srv: &TestServer,
    method: reqwest::Method,
    path: &str,
    user: Option<&str>,
    body: Option<Value>,
) -> Resp {
    let mut rb = client().request(method, srv.url(path));
    if let Some(u) = user {
        rb = rb.header("x-user", u);
    }
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    Resp::read(rb.send().await.unwrap()).await
}

async fn list(srv: &TestServer, user: &str, query: &str) -> Value {
    call(
        srv,
        reqwest::Method::GET,
        &format!("/files{query}"),
        Some(user),
        None,
    )
    .await
    .ok()
}

fn keys(page: &Value) -> Vec<String> {
    page["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["key"].as_str().unwrap().to_string())
        .collect()
}

async fn listing_shows_each_caller_their_own_files_newest_first(db: Db) {
    let srv = server(&db);
    let a1 = upload(&srv, "ann", "papers", "a1.bin", b"one").await;
    let b1 = upload(&srv, "bob", "papers", "b1.bin", b"bob's").await;
    let a2 = upload(&srv, "ann", "notes", "a2.txt", b"two").await;

    let page = list(&srv, "ann", "").await;
    assert_eq!(keys(&page), vec![a2.clone(), a1.clone()], "{page}");
    assert!(page["nextCursor"].is_null());
    let first = &page["files"][0];
    assert_eq!(first["slug"], "notes");
    assert_eq!(first["status"], "complete");
    assert_eq!(first["name"], "a2.txt");
    assert_eq!(first["size"], 3);
    assert!(first["file"]["url"]
        .as_str()
        .unwrap()
        .contains("/download/"));
    assert_eq!(keys(&list(&srv, "bob", "").await), vec![b1.clone()]);
    assert_eq!(
        keys(&list(&srv, "admin", "").await),
        vec![a2.clone(), b1, a1.clone()]
    );
    // Filters.
    assert_eq!(
        keys(&list(&srv, "ann", "?route=papers").await),
        vec![a1.clone()]
    );
    assert_eq!(
        keys(&list(&srv, "ann", "?status=failed").await),
        Vec::<String>::new()
    );
    let future = (std::time::SystemTime::now() + Duration::from_secs(60))
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    assert!(keys(&list(&srv, "ann", &format!("?createdFrom={future}")).await).is_empty());
    assert_eq!(
        keys(&list(&srv, "ann", &format!("?createdUntil={future}")).await).len(),
        2
    );
    // Someone else's file is not there for ann: not listed, not readable, not changeable.
    for (method, body) in [
        (reqwest::Method::PATCH, Some(json!({ "name": "mine.bin" }))),
        (reqwest::Method::DELETE, None),
    ] {
        let bobs = keys(&list(&srv, "bob", "").await)[0].clone();
        let r = call(&srv, method, &format!("/files/{bobs}"), Some("ann"), body).await;
        r.error(404, "NOT_FOUND");
    }
    assert_eq!(keys(&list(&srv, "bob", "").await).len(), 1);
}

async fn pages_follow_the_cursor_and_stay_stable_while_uploads_go_on(db: Db) {
    let srv = server(&db);
    let mut made = Vec::new();
    for i in 0..5 {
        made.push(upload(&srv, "ann", "papers", &format!("f{i}.bin"), b"x").await);
    }
    made.reverse(); // newest first
    let page1 = list(&srv, "ann", "?limit=2").await;
    assert_eq!(keys(&page1), made[..2].to_vec());
    let cursor = page1["nextCursor"].as_str().unwrap().to_string();
    // New files arrive between pages: they come before the cursor, not in later pages.
    upload(&srv, "ann", "papers", "late.bin", b"y").await;
    let page2 = list(&srv, "ann", &format!("?limit=2&cursor={cursor}")).await;
    assert_eq!(keys(&page2), made[2..4].to_vec());
    let cursor = page2["nextCursor"].as_str().unwrap().to_string();
    let page3 = list(&srv, "ann", &format!("?limit=2&cursor={cursor}")).await;
    assert_eq!(keys(&page3), made[4..].to_vec());
    assert!(page3["nextCursor"].is_null());

    // Refusals: a cursor that is not one, an unknown status or parameter, a limit out of range.
    for bad in [
        "?cursor=%%%",
        "?cursor=bm90LWEtY3Vyc29y",
        "?cursor=9999999999999999999.abc",
        "?cursor=12.a%20b",
        "?status=done",
        "?limit=0",
        "?limit=101",
        "?owner=bob",
    ] {
        let r = call(
            &srv,
            reqwest::Method::GET,
            &format!("/files{bad}"),
            Some("ann"),
            None,
        )
        .await;
        r.error(400, "BAD_REQUEST");
    }
    // No session: the app's access function refuses.
    call(&srv, reqwest::Method::GET, "/files", None, None)
        .await
        .error(401, "UNAUTHORIZED");
}

async fn rename_and_acl_change_what_downloads_answer(db: Db) {
    let srv = server(&db);
    let c = client();
    let key = upload(&srv, "ann", "papers", "report.bin", b"the report").await;
    let r = call(
        &srv,
        reqwest::Method::PATCH,
        &format!("/files/{key}"),
        Some("ann"),
        Some(json!({ "name": "../../Q3 report.bin" })),
    )
    .await;
    let info = r.ok();
    assert_eq!(info["name"], "Q3 report.bin", "sanitized: {info}");
    let private_url = info["file"]["url"].as_str().unwrap().to_string();
    let dl = c.get(&private_url).send().await.unwrap();
    assert_eq!(dl.status(), 200);
    let cd = dl.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(cd.contains("Q3 report.bin"), "{cd}");

    // Public: its URL is its key's; private again: that URL answers 404.
    let info = call(
        &srv,
        reqwest::Method::PATCH,
        &format!("/files/{key}"),
        Some("ann"),
        Some(json!({ "acl": "public-read" })),
    )
    .await
    .ok();
    assert_eq!(info["acl"], "public-read");
    let public_url = info["file"]["url"].as_str().unwrap().to_string();
    assert!(!public_url.contains("sig="), "{public_url}");
    assert_eq!(c.get(&public_url).send().await.unwrap().status(), 200);
    call(
        &srv,
        reqwest::Method::PATCH,
        &format!("/files/{key}"),
        Some("ann"),
        Some(json!({ "acl": "private" })),
    )
    .await
    .ok();
    assert_eq!(c.get(&public_url).send().await.unwrap().status(), 404);

    // Refusals: nothing to change, a blank name, an unknown field, an unknown key.
    let path = format!("/files/{key}");
    // Nothing to change: the file as it is.
    let same = call(
        &srv,
        reqwest::Method::PATCH,
        &path,
        Some("ann"),
        Some(json!({ "name": null })),
    )
    .await
    .ok();
    assert_eq!(
        (same["name"].as_str(), same["acl"].as_str()),
        (Some("Q3 report.bin"), Some("private"))
    );
    call(
        &srv,
        reqwest::Method::PATCH,
        &path,
        Some("ann"),
        Some(json!({ "name": "  " })),
    )
    .await
    .error(400, "INVALID_INPUT");
    call(
        &srv,
        reqwest::Method::PATCH,
        &path,
        Some("ann"),
        Some(json!({ "owner": "bob" })),
    )
    .await
    .error(400, "BAD_REQUEST");
    call(
        &srv,
        reqwest::Method::PATCH,
        "/files/nosuchkey",
        Some("ann"),
        Some(json!({ "name": "x" })),
    )
    .await
    .error(404, "NOT_FOUND");
}

async fn an_owner_reads_the_status_of_their_private_file_without_its_token(db: Db) {
    let srv = server(&db);
    let key = upload(&srv, "ann", "papers", "p.bin", b"private").await;
    srv.up.files().set_acl(&key, Acl::Private).await.unwrap();
    let st = call(
        &srv,
        reqwest::Method::GET,
        &format!("/files/{key}"),
        Some("ann"),
        None,
    )
    .await
    .ok();
    assert_eq!(st["status"], "complete");
    let url = st["file"]["url"].as_str().unwrap();
    assert!(url.contains("sig="), "{url}");
    assert_eq!(client().get(url).send().await.unwrap().status(), 200);
    // Not bob's, nor anyone's without a session: the same 404 as an unknown key.
    call(
        &srv,
        reqwest::Method::GET,
        &format!("/files/{key}"),
        Some("bob"),
        None,
    )
    .await
    .error(404, "NOT_FOUND");
    call(
        &srv,
        reqwest::Method::GET,
        &format!("/files/{key}"),
        None,
        None,
    )
    .await
    .error(404, "NOT_FOUND");
}

async fn deleted_files_are_gone_for_good_and_their_hook_runs_once(db: Db) {
    let srv = server(&db);
    let c = client();
    let key = upload(&srv, "ann", "papers", "gone.bin", b"soon gone").await;
    let info = call(&srv, reqwest::Method::GET, "/files", Some("ann"), None)
        .await
        .ok();
    let url = info["files"][0]["file"]["url"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(c.get(&url).send().await.unwrap().status(), 200);
    assert!(srv.stored_files().contains(&key));

    let r = call(
        &srv,
        reqwest::Method::DELETE,
        &format!("/files/{key}"),
        Some("ann"),
        None,
    )
    .await;
    let done = r.ok();
    assert_eq!(done, json!({ "key": key, "result": "deleted" }));
    // The URL handed out before, signed and valid, answers 404; the bytes are gone.
    assert_eq!(c.get(&url).send().await.unwrap().status(), 404);
    assert!(!srv.stored_files().contains(&key));
    assert!(keys(&list(&srv, "ann", "").await).is_empty());
    assert_eq!(
        DELETED
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, k)| k == &key)
            .count(),
        1
    );
    assert!(DELETED
        .lock()
        .unwrap()
        .contains(&("ann".to_string(), key.clone())));
    // Again: nothing there.
    call(
        &srv,
        reqwest::Method::DELETE,
        &format!("/files/{key}"),
        Some("ann"),
        None,
    )
    .await
    .error(404, "NOT_FOUND");
    // A route without a hook deletes all the same.
    let note = upload(&srv, "ann", "notes", "n.txt", b"note").await;
    call(
        &srv,
        reqwest::Method::DELETE,
        &format!("/files/{note}"),
        Some("admin"),
        None,
    )
    .await
    .ok();
    assert!(srv.up.files().get(&note).await.unwrap().is_none());
}

async fn a_file_still_uploading_is_neither_deleted_nor_renamed(db: Db) {
    let srv = server(&db);
    let c = client();
    // Prepared, then a PUT that sends half its bytes and waits.
    let r = srv
        .prepare_raw(
            &c,
            "papers",
            &json!({ "files": [{ "name": "big.bin", "size": 1000, "type": "application/octet-stream" }], "input": null }),
            &[("x-user", "ann")],
        )
        .await;
    let file = r.ok()["files"][0].clone();
    let key = file["key"].as_str().unwrap().to_string();
    let target = srv.target(file["uploadUrl"].as_str().unwrap());
    let head = common::http::put_head(&target, "application/octet-stream", "Content-Length: 1000");
    let _stream = common::http::start_put(&srv, &head, &[0u8; 500]).await;
    srv.wait_status(&c, &key, "uploading").await;
    let path = format!("/files/{key}");
    let e = call(&srv, reqwest::Method::DELETE, &path, Some("ann"), None)
        .await
        .error(409, "IN_PROGRESS");
    assert!(e["message"]
        .as_str()
        .unwrap()
        .contains("still being uploaded"));
    call(
        &srv,
        reqwest::Method::PATCH,
        &path,
        Some("ann"),
        Some(json!({ "name": "x.bin" })),
    )
    .await
    .error(409, "IN_PROGRESS");
    // A prepared upload nobody sent yet may be deleted: its URL is then refused.
    let r = srv
        .prepare_raw(
            &c,
            "papers",
            &json!({ "files": [{ "name": "never.bin", "size": 4, "type": "application/octet-stream" }], "input": null }),
            &[("x-user", "ann")],
        )
        .await;
    let file = r.ok()["files"][0].clone();
    let pending = file["key"].as_str().unwrap().to_string();
    let deleted = srv.up.files().delete(&[pending.as_str()]).await.unwrap();
    assert_eq!(deleted[0].result, uplift::protocol::Deletion::Deleted);
    let put = common::http::put(
        &c,
        file["uploadUrl"].as_str().unwrap(),
        Some("application/octet-stream"),
        b"late".to_vec(),
    )
    .await;
    assert!(put.status == 404 || put.status == 409, "{}", put.status);
}

async fn concurrent_deletes_and_renames_of_one_file_have_one_outcome(db: Db) {
    let srv = server(&db);
    for round in 0..5 {
        let key = upload(&srv, "ann", "papers", &format!("race{round}.bin"), b"race").await;
        let path = format!("/files/{key}");
        let mut tasks = Vec::new();
        for i in 0..6 {
            let (srv_url, path) = (srv.url(&path), path.clone());
            let _ = path;
            tasks.push(tokio::spawn(async move {
                let c = client();
                let rb = if i % 2 == 0 {
                    c.delete(&srv_url)
                } else {
                    c.patch(&srv_url)
                        .json(&json!({ "name": format!("renamed{i}.bin") }))
                };
                rb.header("x-user", "ann")
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }));
        }
        let mut statuses = Vec::new();
        for t in tasks {
            statuses.push(t.await.unwrap());
        }
        // Exactly one delete succeeded; the others found nothing. Renames before it
        // succeeded, after it found nothing.
        let deletes: Vec<u16> = statuses.iter().step_by(2).copied().collect();
        assert_eq!(
            deletes.iter().filter(|s| **s == 200).count(),
            1,
            "{statuses:?}"
        );
        assert!(
            statuses.iter().all(|s| *s == 200 || *s == 404),
            "{statuses:?}"
        );
        // No record without bytes, no bytes without a record.
        assert!(srv.up.files().get(&key).await.unwrap().is_none());
        assert!(!srv.stored_files().contains(&key));
    }
}

async fn the_rust_api_lists_changes_signs_counts_and_deletes(db: Db) {
    let srv = server(&db);
    let a = upload(&srv, "ann", "papers", "a.bin", b"aaaa").await;
    let b = upload(&srv, "bob", "notes", "b.txt", b"bb").await;
    let files = srv.up.files().with_origin(srv.origin.clone());
    let usage = files.usage().await.unwrap();
    assert_eq!((usage.files, usage.bytes), (2, 6));
    assert_eq!(usage.routes.len(), 2);
    let anns = files.clone().owned_by("ann");
    assert_eq!(
        (
            anns.usage().await.unwrap().files,
            anns.usage().await.unwrap().bytes
        ),
        (1, 4)
    );
    let page = anns.list(&FileQuery::default()).await.unwrap();
    assert_eq!(page.files.len(), 1);
    assert!(
        anns.get(&b).await.unwrap().is_none(),
        "bob's file is not ann's"
    );
    // A metadata filter: the middleware's output.
    let query = FileQuery {
        filter: uplift::FileFilter {
            metadata: Some(("user".into(), "bob".into())),
            ..Default::default()
        },
        ..Default::default()
    };
    let bobs = files.list(&query).await.unwrap();
    assert_eq!(
        bobs.files.iter().map(|f| f.key.clone()).collect::<Vec<_>>(),
        vec![b.clone()]
    );
    let bad = FileQuery {
        filter: uplift::FileFilter {
            metadata: Some(("user') OR 1=1 --".into(), "x".into())),
            ..Default::default()
        },
        ..Default::default()
    };
    assert_eq!(
        files.list(&bad).await.unwrap_err().code(),
        uplift::ErrorCode::BadRequest
    );

    let renamed = files.rename(&a, "final.bin").await.unwrap();
    assert_eq!(renamed.name, "final.bin");
    let public = files.set_acl(&a, Acl::PublicRead).await.unwrap();
    assert_eq!(public.acl, Acl::PublicRead);
    let signed = files.signed_url(&b, Duration::from_secs(60)).await.unwrap();
    let got = client().get(&signed).send().await.unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(got.bytes().await.unwrap().as_ref(), b"bb");
    assert!(files.signed_url(&b, Duration::from_secs(0)).await.is_err());

    let results = files
        .delete(&[a.as_str(), b.as_str(), a.as_str(), "nosuchkey"])
        .await
        .unwrap();
    let outcomes: Vec<_> = results.iter().map(|r| r.result).collect();
    use uplift::protocol::Deletion::*;
    assert_eq!(outcomes, vec![Deleted, Deleted, NotFound, NotFound]);
    assert_eq!(files.usage().await.unwrap().files, 0);
}

on_both_backends!(
    an_owner_reads_the_status_of_their_private_file_without_its_token,
    listing_shows_each_caller_their_own_files_newest_first,
    pages_follow_the_cursor_and_stay_stable_while_uploads_go_on,
    rename_and_acl_change_what_downloads_answer,
    deleted_files_are_gone_for_good_and_their_hook_runs_once,
    a_file_still_uploading_is_neither_deleted_nor_renamed,
    concurrent_deletes_and_renames_of_one_file_have_one_outcome,
    the_rust_api_lists_changes_signs_counts_and_deletes,
);

/// Without `manage_files`, none of it is mounted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_manage_files_the_endpoints_are_not_there() {
    let srv = TestServer::start(uplift::router![papers, notes]);
    // `{base}/files` is then only the shape of a route's prepare URL (`POST {base}/{slug}`).
    let r = call(&srv, reqwest::Method::GET, "/files", Some("admin"), None).await;
    assert_eq!(
        (r.status, r.header("allow").as_deref()),
        (405, Some("POST"))
    );
    for method in [reqwest::Method::DELETE, reqwest::Method::PATCH] {
        let r = call(&srv, method, "/files/abc", Some("admin"), None).await;
        assert_eq!((r.status, r.header("allow").as_deref()), (405, Some("GET")));
    }
}
