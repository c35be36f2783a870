//! A scratch app using the packaged crates, built by `cargo xtask package-check` in a temp dir
//! outside the repository: one file route, an `Uplift` with local storage and SQLite records
//! under the directory given as the first argument, and the facts the check compares.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;
use uplift::{HttpRequest, LocalStorage, Records, Uplift, UploadError, UploadedFile};

/// The metadata, from the middleware to the completion hook.
#[derive(Serialize, Deserialize)]
pub struct Session {
    user: String,
}

/// The server data.
#[derive(Serialize, JsonSchema, TS)]
pub struct Saved {
    url: String,
}

/// One image of at most 2 MB.
#[uplift::file_route(image(max_file_size = "2MB"), on_upload_complete = saved)]
async fn profile_picture(req: HttpRequest) -> Result<Session, UploadError> {
    let user = req
        .headers()
        .get("x-user")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| UploadError::unauthorized("sign in first"))?;
    Ok(Session {
        user: user.to_string(),
    })
}

async fn saved(_session: Session, file: UploadedFile) -> Result<Saved, UploadError> {
    Ok(Saved { url: file.url })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).ok_or("usage: main <data dir>")?);
    let uplift = Uplift::builder(uplift::router![profile_picture])
        .storage(LocalStorage::new(dir.join("files"))?)
        .records(Records::sqlite_in_dir(&dir.join("records")).await?)
        .secret(vec![7u8; 32])
        .build()?;

    let route = &uplift.router().routes()[0];
    let config = route.config();
    println!("slug={}", config.slug);
    let types: Vec<String> = config
        .types
        .iter()
        .map(|t| {
            let kind = t.file_type.as_str();
            format!(
                "{kind}:{}:{}:{}",
                t.max_file_size, t.max_file_count, t.min_file_count
            )
        })
        .collect();
    println!("types={}", types.join(","));
    println!("await_server_data={}", config.await_server_data);
    println!("openapi_title={}", uplift.openapi().info.title);
    println!("records={:?}", uplift.records().backend());
    Ok(())
}
