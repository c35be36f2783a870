#![deny(warnings)]

//! Every option of the attribute at once, and the config it produces.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;
use uplift::{Acl, ContentDisposition, FileType};
use uplift::{HttpRequest, PendingFiles, UploadError, UploadedFile};
use validator::Validate;

#[derive(Deserialize, Validate, JsonSchema, TS)]
pub struct PostInput {
    #[validate(length(min = 1))]
    pub title: String,
}

#[derive(Serialize, Deserialize)]
pub struct Session {
    pub user: String,
}

// Through uplift's re-exports, for an app without its own `schemars`/`ts-rs` dependency.
#[derive(Serialize, uplift::schemars::JsonSchema, uplift::ts_rs::TS)]
#[schemars(crate = "uplift::schemars")]
#[ts(crate = "uplift::ts_rs")]
pub struct Saved {
    pub url: String,
}

mod hooks {
    use super::{Saved, Session};
    use uplift::{UploadError, UploadedFile};

    pub async fn done(_session: Session, file: UploadedFile) -> Result<Saved, UploadError> {
        Ok(Saved { url: file.url })
    }

    pub async fn failed(_session: Option<Session>, _error: UploadError, _key: String) {}
}

/// Doc comments stay on the function.
#[uplift::file_route(
    image(max_file_size = "2MB", max_file_count = 4),
    video(max_file_size = "256MB", min_file_count = 0),
    mime("application/json", max_file_size = "1MB", acl = "private", content_disposition = "attachment"),
    "font/*",
    pdf, text, audio(content_disposition = "inline", acl = "public-read"), blob(max_file_size = "1.5GB"),
    await_server_data,
    max_total_file_count = 5,
    max_total_size = "300MB",
    slug = "media",
    on_upload_complete = hooks::done,
    on_upload_error = crate::hooks::failed,
)]
pub async fn media_post(
    req: HttpRequest,
    input: PostInput,
    files: &mut PendingFiles,
) -> Result<Session, UploadError> {
    for file in files.iter_mut() {
        let name = format!("{}-{}", input.title, file.name());
        file.rename(name);
    }
    let user = req
        .headers()
        .get("x-user")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("anonymous");
    Ok(Session {
        user: user.to_string(),
    })
}

#[allow(dead_code)]
async fn unused(_: UploadedFile) {}

fn main() {
    let router = uplift::router![media_post];
    let route = router.get("media").expect("the slug override is used");
    let config = route.config();
    assert!(config.await_server_data);
    assert_eq!(config.max_total_file_count, Some(5));
    assert_eq!(config.max_total_size, Some(300 * 1024 * 1024));
    let types: Vec<&str> = config.types.iter().map(|r| r.file_type.as_str()).collect();
    assert_eq!(
        types,
        [
            "image",
            "video",
            "application/json",
            "font/*",
            "pdf",
            "text",
            "audio",
            "blob"
        ]
    );

    let image = &config.types[0];
    assert_eq!(
        (
            image.max_file_size,
            image.max_file_count,
            image.min_file_count
        ),
        (2 * 1024 * 1024, 4, 1)
    );
    let video = &config.types[1];
    assert_eq!(
        (
            video.max_file_size,
            video.max_file_count,
            video.min_file_count
        ),
        (256 * 1024 * 1024, 1, 0)
    );
    let json = &config.types[2];
    assert_eq!(json.file_type, FileType::Mime("application/json".into()));
    assert_eq!(
        (json.max_file_size, json.acl, json.content_disposition),
        (1024 * 1024, Acl::Private, ContentDisposition::Attachment)
    );
    // Defaults come from the runtime.
    assert_eq!(
        config.types[3].max_file_size,
        FileType::Mime("font/*".into()).default_max_file_size()
    );
    assert_eq!(
        config.types[4].max_file_size,
        FileType::Pdf.default_max_file_size()
    );
    assert_eq!(config.types[7].max_file_size, 1_610_612_736);

    // The function itself is still callable by its name.
    let _future = media_post;
}
