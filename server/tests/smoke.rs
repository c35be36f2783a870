mod common;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uplift::{HttpRequest, UploadError, UploadedFile};

#[derive(Serialize, Deserialize)]
pub struct Meta { user: String }

#[derive(Serialize)]
pub struct Done { seen: String }

#[uplift::file_route(text(max_file_size = "1KB"), await_server_data, on_upload_complete = done)]
async fn notes(req: HttpRequest) -> Result<Meta, UploadError> {
    let user = req.headers().get("x-user").and_then(|v| v.to_str().ok()).ok_or_else(|| UploadError::unauthorized("who?"))?;
    Ok(Meta { user: user.into() })
}

async fn done(meta: Meta, file: UploadedFile) -> Result<Done, UploadError> {
    Ok(Done { seen: format!("{}:{}", meta.user, file.name) })
}

#[tokio::test]
async fn smoke() {
    let srv = common::TestServer::start(uplift::router![notes]);
    let c = reqwest::Client::new();
    let cfg: Value = c.get(&srv.base).send().await.unwrap().json().await.unwrap();
    println!("{cfg}");
    let r = c.post(format!("{}/notes", srv.base)).header("x-user", "ann")
        .json(&json!({"files":[{"name":"a.txt","size":5,"type":"text/plain"}]})).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let p: Value = r.json().await.unwrap();
    println!("{p}");
    let url = p["files"][0]["uploadUrl"].as_str().unwrap();
    let r = c.put(url).header("content-type", "text/plain").body("hello").send().await.unwrap();
    let st = r.status();
    let v: Value = r.json().await.unwrap();
    println!("{st} {v}");
    assert_eq!(st, 200);
    assert_eq!(v["serverData"]["seen"], "ann:a.txt");
    let dl = c.get(v["file"]["url"].as_str().unwrap()).send().await.unwrap();
    println!("{:?}", dl.headers());
    assert_eq!(dl.text().await.unwrap(), "hello");
    let r = c.put(url).header("content-type", "text/plain").body("hello").send().await.unwrap();
    let v: Value = r.json().await.unwrap();
    println!("replay {v}");
    assert_eq!(v["error"]["code"], "CONFLICT");
    let form = reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::text("hey there").file_name("b.txt").mime_str("text/plain").unwrap());
    let r = c.post(format!("{}/notes/multipart", srv.base)).header("x-user", "bob").multipart(form).send().await.unwrap();
    let st = r.status();
    let v: Value = r.json().await.unwrap();
    println!("{st} {v}");
    assert_eq!(st, 200);
}
