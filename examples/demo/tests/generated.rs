//! The checked-in `generated/` folder is what the code produces now; the demo's OpenAPI
//! document and route config carry its input constraints; a running demo serves the same
//! document, and a docs UI that references nothing outside the app.

use std::sync::mpsc;
use std::thread;

use actix_web::{App, HttpServer};
use serde_json::Value;
use uplift::{MemoryStorage, Records, Uplift};
use uplift_demo::{client_generated_dir, generated_dir, routes, BASE_PATH};

#[test]
fn generated_files_are_fresh() {
    // Fails with e.g. "generated/ts/router.ts is stale: run `cargo xtask codegen` (line 12 is …)".
    if let Err(stale) = uplift::codegen::check(&routes::router(), BASE_PATH, &generated_dir()) {
        panic!("{stale}");
    }
    // The client package's own copy of the wire types: "generated/protocol.ts is stale: …".
    if let Err(stale) = uplift::codegen::check_client(&client_generated_dir()) {
        panic!("{stale}");
    }
}

/// Follows `$ref`s into the document's components.
fn resolve<'a>(doc: &'a Value, mut schema: &'a Value) -> &'a Value {
    while let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("a component ref: {r}"));
        schema = &doc["components"]["schemas"][name];
        assert!(schema.is_object(), "{r} does not resolve");
    }
    schema
}

fn caption_in_openapi(doc: &Value) -> &Value {
    let body = &doc["paths"]["/api/uploads/mediaPost"]["post"]["requestBody"]["content"]
        ["application/json"]["schema"];
    let input = resolve(doc, &resolve(doc, body)["properties"]["input"]);
    &input["properties"]["caption"]
}

#[test]
fn the_caption_limit_is_in_the_openapi_document() {
    let fresh: Value = serde_json::from_str(&routes::router().openapi_json(BASE_PATH)).unwrap();
    let caption = caption_in_openapi(&fresh);
    assert_eq!(caption["maxLength"], 280, "{caption}");
    assert_eq!(caption["minLength"], 1, "{caption}");
    assert_eq!(caption["type"], "string", "{caption}");
    assert_eq!(
        fresh["paths"]["/api/uploads/mediaPost"]["post"]["operationId"],
        "prepareMediaPost"
    );
    assert_eq!(
        fresh["paths"]["/api/uploads/mediaPost/multipart"]["post"]["operationId"],
        "uploadMediaPostMultipart"
    );

    let checked_in = std::fs::read_to_string(generated_dir().join("openapi.json"))
        .expect("generated/openapi.json");
    let checked_in: Value = serde_json::from_str(&checked_in).unwrap();
    assert_eq!(caption_in_openapi(&checked_in)["maxLength"], 280);
}

/// The demo's router on 127.0.0.1 (memory storage, SQLite in a temp dir), stopped when dropped.
struct Demo {
    base: String,
    origin: String,
    handle: actix_web::dev::ServerHandle,
    thread: Option<thread::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl Demo {
    fn start() -> Demo {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().to_path_buf();
        let (tx, rx) = mpsc::channel();
        let thread = thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let records = Records::sqlite_in_dir(&data).await.expect("records");
                let up = Uplift::builder(routes::router())
                    .storage(MemoryStorage::new())
                    .records(records)
                    .secret(*b"generated-test-secret-generated-test-secret")
                    .build()
                    .expect("config");
                let server = HttpServer::new(move || App::new().service(up.service()))
                    .workers(1)
                    .disable_signals()
                    .shutdown_timeout(1)
                    .bind(("127.0.0.1", 0))
                    .unwrap();
                let port = server.addrs()[0].port();
                let server = server.run();
                tx.send((port, server.handle())).unwrap();
                let _ = server.await;
            })
        });
        let (port, handle) = rx.recv().expect("the server started");
        let origin = format!("http://127.0.0.1:{port}");
        Demo {
            base: format!("{origin}{BASE_PATH}"),
            origin,
            handle,
            thread: Some(thread),
            _dir: dir,
        }
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        let _ =
            thread::spawn(move || actix_web::rt::System::new().block_on(handle.stop(false))).join();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[tokio::test]
async fn the_caption_limit_is_in_the_route_config_over_http() {
    let demo = Demo::start();
    let body: Value = reqwest::get(&demo.base)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let media = body["routes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["slug"] == "mediaPost")
        .expect("mediaPost");
    let caption = &media["inputSchema"]["properties"]["caption"];
    assert_eq!(caption["maxLength"], 280, "{media}");
    assert_eq!(caption["minLength"], 1, "{media}");
    assert_eq!(
        media["inputSchema"]["required"],
        serde_json::json!(["caption"])
    );
}

#[tokio::test]
async fn the_served_openapi_document_is_the_checked_in_file() {
    let demo = Demo::start();
    let res = reqwest::get(format!("{}/openapi.json", demo.base))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/json");
    let served = res.text().await.unwrap();
    let checked_in = std::fs::read_to_string(generated_dir().join("openapi.json"))
        .expect("generated/openapi.json");
    // The document names no server (paths are absolute): the bytes are the same.
    assert!(
        served == checked_in,
        "{BASE_PATH}/openapi.json differs from generated/openapi.json: run `cargo xtask codegen`"
    );
}

/// Every `http://` or `https://` URL in `text`.
fn absolute_urls(text: &str) -> Vec<String> {
    let mut urls = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("http") {
        let candidate = &rest[at..];
        if candidate.starts_with("http://") || candidate.starts_with("https://") {
            let end = candidate
                .find(|c: char| {
                    c.is_whitespace() || matches!(c, '"' | '\'' | '`' | ')' | '<' | '>')
                })
                .unwrap_or(candidate.len());
            urls.push(candidate[..end].to_string());
        }
        rest = &candidate[4..];
    }
    urls
}

/// The values of `attr="..."` in an HTML page.
fn attribute_values(html: &str, attr: &str) -> Vec<String> {
    let needle = format!("{attr}=\"");
    html.match_indices(&needle)
        .map(|(i, _)| {
            let start = i + needle.len();
            let end = html[start..].find('"').expect("a closing quote");
            html[start..start + end].to_string()
        })
        .collect()
}

/// `{base}/docs` is Swagger UI served by the app: the page, its scripts and styles come from
/// the app; its configuration loads only the app's own document and turns off the one
/// external request Swagger UI makes by default (the validator badge); and every response
/// carries a CSP that lets a browser fetch from the app's own origin only.
#[tokio::test]
async fn the_docs_ui_is_served_and_references_no_external_url() {
    let demo = Demo::start();
    let c = reqwest::Client::new();
    let res = c.get(format!("{}/docs", demo.base)).send().await.unwrap();
    assert_eq!(res.status(), 200, "{BASE_PATH}/docs (redirected to docs/)");
    assert_eq!(res.url().path(), format!("{BASE_PATH}/docs/"));
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    for directive in [
        "default-src 'self'",
        "script-src 'self'",
        "connect-src 'self'",
        "img-src 'self' data:",
    ] {
        assert!(csp.contains(directive), "CSP `{csp}` lacks `{directive}`");
    }
    assert!(!csp.contains("http"), "{csp}");
    let page_url = res.url().clone();
    let html = res.text().await.unwrap();
    assert!(html.contains("<div id=\"swagger-ui\">"), "{html}");
    assert!(
        absolute_urls(&html).is_empty(),
        "the page names {:?}",
        absolute_urls(&html)
    );

    let assets: Vec<String> = attribute_values(&html, "src")
        .into_iter()
        .chain(attribute_values(&html, "href"))
        .collect();
    assert!(assets.len() >= 5, "{assets:?}");
    let mut scripts = Vec::new();
    for asset in &assets {
        assert!(
            !asset.contains(':') && !asset.starts_with("//"),
            "the page loads {asset} from elsewhere"
        );
        let url = page_url.join(asset).unwrap();
        assert!(url.as_str().starts_with(&demo.origin), "{url}");
        let res = c.get(url.clone()).send().await.unwrap();
        assert_eq!(res.status(), 200, "{url}");
        assert_eq!(
            res.headers()["content-security-policy"].to_str().unwrap(),
            csp,
            "{url}"
        );
        let content_type = res.headers()["content-type"].to_str().unwrap().to_string();
        if content_type.starts_with("image/") {
            continue;
        }
        let text = res.text().await.unwrap();
        if asset.ends_with(".css") {
            // Styles: images inline (`data:`) or from here; no `@import`.
            assert!(!text.contains("@import"), "{url} imports a stylesheet");
            for (i, _) in text.match_indices("url(") {
                let target = text[i + 4..].trim_start_matches(['"', '\'']);
                assert!(
                    target.starts_with("data:")
                        || !target[..target.find(')').unwrap()].contains(':'),
                    "{url}: {}",
                    &text[i..i + 40]
                );
            }
        } else if asset.ends_with("swagger-initializer.js") {
            // The configuration: our document, relative; no validator; nothing absolute.
            assert!(
                absolute_urls(&text).is_empty(),
                "{url} names {:?}",
                absolute_urls(&text)
            );
            assert!(text.contains(r#""url": "../openapi.json""#), "{text}");
            assert!(text.contains(r#""validatorUrl": "none""#), "{text}");
            assert!(text.contains(r#""queryConfigEnabled": false"#), "{text}");
        } else {
            scripts.push((url, text));
        }
    }
    // The initializer points at the document the app serves.
    let doc = c
        .get(page_url.join("../openapi.json").unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(doc.status(), 200);
    // Swagger UI's bundle knows one service of its own (the validator badge), switched off above.
    let bundle = scripts
        .iter()
        .find(|(u, _)| u.path().ends_with("swagger-ui-bundle.js"))
        .expect("the bundle");
    assert!(
        bundle.1.contains("https://validator.swagger.io/validator"),
        "the bundle's default validator moved"
    );

    // `docs` is reserved: no route can take it, and POST there is not a prepare call.
    let res = c
        .post(format!("{}/docs", demo.base))
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
}
