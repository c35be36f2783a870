//! What schemathesis found the OpenAPI document and the server disagreeing on, pinned over
//! real HTTP: each test checks the server's answer and the document's word on it together, so
//! neither can drift alone. (`cargo xtask test` runs schemathesis itself against the demo.)

mod common;

use serde_json::{json, Value};
use uplift::{HttpRequest, UploadError};

use common::http::{client, decl, Resp};
use common::TestServer;

async fn stored(_: (), _file: uplift::UploadedFile) -> Result<(), UploadError> {
    Ok(())
}

#[uplift::file_route(
    image(max_file_size = "1MB", max_file_count = 2),
    pdf,
    on_upload_complete = stored
)]
async fn photos(_req: HttpRequest) -> Result<(), UploadError> {
    Ok(())
}

fn server() -> TestServer {
    TestServer::start(uplift::router![photos])
}

async fn openapi(s: &TestServer) -> Value {
    let r = Resp::read(client().get(s.url("/openapi.json")).send().await.unwrap()).await;
    r.ok()
}

fn component<'a>(doc: &'a Value, name: &str) -> &'a Value {
    &doc["components"]["schemas"][name]
}

#[actix_rt::test]
async fn an_empty_file_list_is_refused_and_documented_as_such() {
    let s = server();
    let c = client();
    let r = s.prepare(&c, "photos", json!([]), Value::Null).await;
    r.error(400, "TOO_FEW_FILES");
    let doc = openapi(&s).await;
    let files = &component(&doc, "PhotosPrepareRequest")["properties"]["files"];
    assert_eq!(files["minItems"], 1, "{files}");
    // Two images and one PDF at most.
    assert_eq!(files["maxItems"], 3, "{files}");
    let multipart = &doc["paths"]["/api/uploads/photos/multipart"]["post"]["requestBody"]
        ["content"]["multipart/form-data"]["schema"]["properties"]["files"];
    assert_eq!(multipart["minItems"], 1, "{multipart}");
}

#[actix_rt::test]
async fn each_declared_file_is_bound_to_an_accepted_type_and_its_size() {
    let s = server();
    let c = client();
    let doc = openapi(&s).await;
    let rules = &component(&doc, "PhotosPrepareRequest")["properties"]["files"]["items"]["allOf"]
        [1]["anyOf"];
    assert_eq!(
        rules[0]["properties"]["size"]["maximum"],
        1024 * 1024,
        "{rules}"
    );
    assert_eq!(
        rules[1]["properties"]["size"]["maximum"],
        4 * 1024 * 1024,
        "{rules}"
    );
    // What the patterns allow, the server takes; what they refuse, it refuses.
    let image = rules[0]["properties"]["type"]["pattern"].as_str().unwrap();
    let pdf = rules[1]["properties"]["type"]["pattern"].as_str().unwrap();
    assert_eq!(
        image,
        "^[iI][mM][aA][gG][eE]/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$"
    );
    assert_eq!(
        pdf,
        "^[aA][pP][pP][lL][iI][cC][aA][tT][iI][oO][nN]/[pP][dD][fF]$"
    );
    let r = s
        .prepare(
            &c,
            "photos",
            json!([decl("a.png", 10, "IMAGE/Png")]),
            Value::Null,
        )
        .await;
    r.ok();
    let r = s
        .prepare(
            &c,
            "photos",
            json!([decl("a.txt", 10, "text/plain")]),
            Value::Null,
        )
        .await;
    r.error(415, "UNSUPPORTED_TYPE");
    let r = s
        .prepare(
            &c,
            "photos",
            json!([decl("a.png", 1024 * 1024 + 1, "image/png")]),
            Value::Null,
        )
        .await;
    r.error(413, "TOO_LARGE");
    let sha = &component(&doc, "FileDeclaration")["properties"]["sha256"];
    assert_eq!(sha["pattern"], "^[0-9a-fA-F]{64}$", "{sha}");
}

/// JSON Schema's `integer` includes `5.0`: a size or date written so is that integer.
#[actix_rt::test]
async fn whole_numbers_written_with_a_fraction_part_are_integers() {
    let s = server();
    let c = client();
    let body = json!({ "files": [{ "name": "a.png", "size": 10.0, "type": "image/png", "lastModified": -1182.0 }] });
    let r = s.prepare_raw(&c, "photos", &body, &[]).await;
    assert_eq!(r.ok()["files"].as_array().unwrap().len(), 1);
    for bad in [json!(10.5), json!(-1.0), json!(1e300), json!("10")] {
        let body = json!({ "files": [{ "name": "a.png", "size": bad, "type": "image/png" }] });
        let r = s.prepare_raw(&c, "photos", &body, &[]).await;
        r.error(400, "BAD_REQUEST");
    }
    let body = json!({ "files": [{ "name": "a.png", "size": 10, "type": "image/png", "lastModified": 0.5 }] });
    s.prepare_raw(&c, "photos", &body, &[])
        .await
        .error(400, "BAD_REQUEST");
}

#[actix_rt::test]
async fn an_expires_out_of_range_is_a_documented_bad_request() {
    let s = server();
    let c = client();
    for method in [reqwest::Method::GET, reqwest::Method::HEAD] {
        let r = Resp::read(
            c.request(
                method.clone(),
                s.url("/download/abc?expires=9223372036854775808"),
            )
            .send()
            .await
            .unwrap(),
        )
        .await;
        assert_eq!(r.status, 400, "{method}");
        if method == reqwest::Method::GET {
            r.error(400, "BAD_REQUEST");
        }
    }
    let doc = openapi(&s).await;
    for method in ["get", "head"] {
        let op = &doc["paths"]["/api/uploads/download/{key}"][method];
        assert!(op["responses"]["400"].is_object(), "{method}: {op}");
    }
}

#[actix_rt::test]
async fn a_tus_patch_needs_its_body_and_headers_are_described_as_parsed() {
    let s = server();
    let doc = openapi(&s).await;
    let patch = &doc["paths"]["/api/uploads/tus/{id}"]["patch"];
    assert_eq!(patch["requestBody"]["required"], true, "{patch}");
    let create = &doc["paths"]["/api/uploads/photos/tus"]["post"];
    let param = |name: &str| {
        create["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("no {name}"))["schema"]
            .clone()
    };
    let concat = param("Upload-Concat");
    let checksum = param("Upload-Checksum");
    assert_eq!(concat["pattern"], "^(partial|final;.*[!-~].*)$");
    assert!(checksum["pattern"]
        .as_str()
        .unwrap()
        .starts_with("^[sS][hH][aA](1|256) "));
    // An empty Upload-Concat (which those patterns refuse) is a bad request.
    let r = Resp::read(
        client()
            .post(s.url("/photos/tus"))
            .header("Tus-Resumable", "1.0.0")
            .header("Upload-Length", "10")
            .header("Upload-Concat", "")
            .send()
            .await
            .unwrap(),
    )
    .await;
    r.error(400, "BAD_REQUEST");
}

#[actix_rt::test]
async fn object_paths_are_described_as_the_server_checks_them() {
    let s = server();
    let doc = openapi(&s).await;
    let op = &doc["paths"]["/api/uploads/objects/{path}"]["get"];
    let schema = &op["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "path")
        .unwrap()["schema"];
    assert_eq!(
        schema["pattern"], "^[^/\\\\\\u0000-\\u001f\\u007f-\\u009f]+$",
        "{schema}"
    );
    assert_eq!(schema["not"]["anyOf"][0]["enum"], json!([".", ".."]));
    // A control character (outside the pattern) is refused as an invalid path; a plain name
    // (inside it) gets as far as the signature check.
    let c = client();
    let r = Resp::read(c.get(s.url("/objects/a%C2%85b")).send().await.unwrap()).await;
    r.error(400, "INVALID_PATH");
    let r = Resp::read(c.get(s.url("/objects/a%20b")).send().await.unwrap()).await;
    assert_ne!(r.status, 400, "{:?}", r.json());
}
