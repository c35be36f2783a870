//! The file routes of UploadThing's example router, declared with `#[uplift::file_route]`.
//!
//! Each route is its middleware: an async function that authorizes the upload and returns the
//! metadata its completion hook receives. The hook's return value is the route's server data.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use actix_web::http::StatusCode;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;
use uplift::storage::Storage;
use uplift::{HttpRequest, PendingFiles, UploadError, UploadedFile};
use validator::{Validate, ValidationError};

use crate::activity;
use crate::auth::{require_user, User};
use crate::settings::hex;

/// Every route of the demo, for `Uplift::builder`. Signed-in users manage their own files
/// over HTTP (`GET {base}/files`, `PATCH`/`DELETE {base}/files/{key}`): the files uploaded
/// under their name (see `crate::auth::caller`).
pub fn router() -> uplift::Router {
    uplift::router![
        profile_picture,
        message_attachment,
        media_post,
        document_review
    ]
    .manage_files(|req| Ok(uplift::FilesAccess::Owner(require_user(req)?.name)))
}

// ---------------------------------------------------------------------------------------------
// profilePicture: one image of at most 2 MB; the client waits for the server data.

/// The server data of `profilePicture`.
#[derive(Debug, Serialize, JsonSchema, TS)]
#[serde(rename_all = "camelCase")]
pub struct ProfilePictureSaved {
    pub url: String,
    pub uploaded_by: String,
}

/// One image, at most 2 MB.
#[uplift::file_route(
    image(max_file_size = "2MB", max_file_count = 1, min_file_count = 1),
    await_server_data,
    on_upload_complete = profile_picture_saved
)]
pub async fn profile_picture(req: HttpRequest) -> Result<User, UploadError> {
    require_user(&req)
}

async fn profile_picture_saved(
    user: User,
    file: UploadedFile,
) -> Result<ProfilePictureSaved, UploadError> {
    tracing::info!(user = %user.name, key = %file.key, "profile picture updated");
    activity::record(
        "profilePicture",
        Some(&user.name),
        "complete",
        format!("new profile picture `{}` ({} bytes)", file.name, file.size),
    );
    Ok(ProfilePictureSaved {
        url: file.url,
        uploaded_by: user.name,
    })
}

// ---------------------------------------------------------------------------------------------
// messageAttachment: an image or a video with the default limits (4 MB / 16 MB), one file in
// all. The upload answers at once; the hook runs in the background and its answer shows up at
// the status URL.

/// An image or a video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema, TS)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    Image,
    Video,
}

impl MediaKind {
    fn of(file: &UploadedFile) -> Self {
        if file.content_type.starts_with("video/") {
            MediaKind::Video
        } else {
            MediaKind::Image
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            MediaKind::Image => "image",
            MediaKind::Video => "video",
        }
    }
}

/// The server data of `messageAttachment`.
#[derive(Debug, Serialize, JsonSchema, TS)]
#[serde(rename_all = "camelCase")]
pub struct AttachmentPosted {
    pub message_id: String,
    pub attached_by: String,
    pub kind: MediaKind,
}

/// An image or a video, one file.
#[uplift::file_route(image, video, max_total_file_count = 1, on_upload_complete = attachment_posted)]
pub async fn message_attachment(req: HttpRequest) -> Result<User, UploadError> {
    require_user(&req)
}

async fn attachment_posted(
    user: User,
    file: UploadedFile,
) -> Result<AttachmentPosted, UploadError> {
    let kind = MediaKind::of(&file);
    let message_id = random_id("msg");
    activity::record(
        "messageAttachment",
        Some(&user.name),
        "complete",
        format!(
            "{} `{}` attached to message {message_id}",
            kind.as_str(),
            file.name
        ),
    );
    Ok(AttachmentPosted {
        message_id,
        attached_by: user.name,
        kind,
    })
}

// ---------------------------------------------------------------------------------------------
// mediaPost: up to four 2 MB images and one 256 MB video, with a caption. The middleware
// renames the files after the post and tags each with a custom id.

/// The route's typed input, validated before anything else runs.
#[derive(Debug, Deserialize, Validate, JsonSchema, TS)]
pub struct PostInput {
    #[validate(
        length(min = 1, max = 280, message = "a caption has 1 to 280 characters"),
        custom(function = "not_blank")
    )]
    pub caption: String,
}

fn not_blank(caption: &str) -> Result<(), ValidationError> {
    if caption.trim().is_empty() {
        let mut e = ValidationError::new("blank");
        e.message = Some("a caption needs more than spaces".into());
        return Err(e);
    }
    Ok(())
}

/// What the middleware hands the completion hook.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostDraft {
    pub post_id: String,
    pub author: String,
    pub caption: String,
}

/// The server data of `mediaPost`, one per file.
#[derive(Debug, Serialize, JsonSchema, TS)]
#[serde(rename_all = "camelCase")]
pub struct PostMedia {
    pub post_id: String,
    pub author: String,
    pub caption: String,
    /// `post_…/2`: the file's place in the post, set by the middleware as its custom id.
    pub media_id: Option<String>,
    pub kind: MediaKind,
}

/// Up to four 2 MB images and one 256 MB video, with a caption.
#[uplift::file_route(
    image(max_file_size = "2MB", max_file_count = 4),
    video(max_file_size = "256MB"),
    on_upload_complete = post_media_stored
)]
pub async fn media_post(
    req: HttpRequest,
    input: PostInput,
    files: &mut PendingFiles,
) -> Result<PostDraft, UploadError> {
    let user = require_user(&req)?;
    let post_id = random_id("post");
    for (n, file) in files.iter_mut().enumerate() {
        let ext = extension(file.name(), file.content_type());
        file.rename(format!("{}-{post_id}-{}.{ext}", user.name, n + 1));
        file.set_custom_id(format!("{post_id}/{}", n + 1));
    }
    Ok(PostDraft {
        post_id,
        author: user.name,
        caption: input.caption.trim().to_string(),
    })
}

async fn post_media_stored(draft: PostDraft, file: UploadedFile) -> Result<PostMedia, UploadError> {
    let kind = MediaKind::of(&file);
    activity::record(
        "mediaPost",
        Some(&draft.author),
        "complete",
        format!(
            "{} `{}` added to {} “{}”",
            kind.as_str(),
            file.name,
            draft.post_id,
            draft.caption
        ),
    );
    Ok(PostMedia {
        post_id: draft.post_id,
        author: draft.author,
        caption: draft.caption,
        media_id: file.custom_id,
        kind,
    })
}

// ---------------------------------------------------------------------------------------------
// documentReview: one private PDF of at most 8 MB. The upload answers only once the hook has
// looked at the document and opened a review ticket; failures are logged by `review_failed`.

/// The server data of `documentReview`, which the uploader waits for.
#[derive(Debug, Serialize, JsonSchema, TS)]
#[serde(rename_all = "camelCase")]
pub struct ReviewTicket {
    pub review_id: String,
    pub submitted_by: String,
    /// Pages as counted in the file, or estimated from its size when they cannot be counted.
    pub pages_estimate: u32,
    /// How `pages_estimate` was obtained.
    pub estimate_method: &'static str,
    /// The reviews opened since this server started, this one included.
    pub ticket_number: u64,
    pub sha256: String,
}

static STORAGE: OnceLock<Arc<dyn Storage>> = OnceLock::new();
static REVIEWS: AtomicU64 = AtomicU64::new(0);

/// Where the files are stored (local disk or S3), so the review hook can read the stored PDF.
pub fn set_storage(storage: Arc<dyn Storage>) {
    let _ = STORAGE.set(storage);
}

/// One private PDF of at most 8 MB, awaited by the client.
#[uplift::file_route(
    pdf(max_file_size = "8MB", acl = "private", content_disposition = "attachment"),
    await_server_data,
    on_upload_complete = review_opened,
    on_upload_error = review_failed
)]
pub async fn document_review(req: HttpRequest) -> Result<User, UploadError> {
    require_user(&req)
}

async fn review_opened(user: User, file: UploadedFile) -> Result<ReviewTicket, UploadError> {
    let storage = STORAGE
        .get()
        .ok_or_else(|| UploadError::internal_msg("storage not set"))?;
    // At most 8 MB, as the route guarantees: reading it whole is fine here.
    let bytes = storage
        .read(&file.key, file.size as usize)
        .await?
        .ok_or_else(|| UploadError::internal_msg("the stored PDF is gone"))?;
    if contains(&bytes, b"/Encrypt") {
        return Err(UploadError::with_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            "this PDF is encrypted, so nobody could review it: remove its password and upload it again",
        ));
    }
    let (pages_estimate, estimate_method) = match count_pages(&bytes) {
        0 => (
            (file.size / (100 * 1024)).max(1) as u32,
            "size: ~100 KB per page (the page objects are compressed)",
        ),
        n => (n, "counted the /Type /Page objects"),
    };
    let ticket_number = REVIEWS.fetch_add(1, Ordering::Relaxed) + 1;
    let review_id = random_id("rev");
    activity::record(
        "documentReview",
        Some(&user.name),
        "complete",
        format!(
            "review {review_id} opened for `{}` ({pages_estimate} pages)",
            file.name
        ),
    );
    Ok(ReviewTicket {
        review_id,
        submitted_by: user.name,
        pages_estimate,
        estimate_method,
        ticket_number,
        sha256: file.sha256,
    })
}

/// Called for every failure after preparation: a refused or interrupted upload, or a failing
/// completion hook.
async fn review_failed(user: Option<User>, error: UploadError, file_key: String) {
    let who = user.as_ref().map(|u| u.name.as_str());
    tracing::warn!(
        route = "documentReview",
        user = who.unwrap_or("-"),
        key = %file_key,
        code = %error.code(),
        "document upload failed: {}",
        error.message()
    );
    activity::record(
        "documentReview",
        who,
        "error",
        format!("{}: {}", error.code(), error.message()),
    );
}

// ---------------------------------------------------------------------------------------------

/// `post_1f3a9c0d2b4e`: a short random id with a readable prefix.
fn random_id(prefix: &str) -> String {
    let bytes: [u8; 6] = rand::random();
    format!("{prefix}_{}", hex(&bytes))
}

/// The file's own extension when it has a plausible one, else one from its type.
fn extension(name: &str, content_type: &str) -> String {
    let own = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .filter(|e| (1..=5).contains(&e.len()) && e.bytes().all(|b| b.is_ascii_alphanumeric()));
    own.unwrap_or_else(|| {
        let sub = content_type.rsplit('/').next().unwrap_or("bin");
        match sub {
            "jpeg" => "jpg".into(),
            "quicktime" => "mov".into(),
            s if !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric()) => s.into(),
            _ => "bin".into(),
        }
    })
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Counts `/Type /Page` dictionaries (not `/Pages`) in an uncompressed PDF. Object streams
/// hide them, in which case this returns 0.
fn count_pages(pdf: &[u8]) -> u32 {
    let mut count = 0;
    let mut i = 0;
    while let Some(at) = find(&pdf[i..], b"/Type") {
        let mut j = i + at + b"/Type".len();
        while j < pdf.len() && pdf[j].is_ascii_whitespace() {
            j += 1;
        }
        if pdf[j..].starts_with(b"/Page") {
            let next = pdf.get(j + b"/Page".len()).copied();
            if !next.is_some_and(|b| b.is_ascii_alphanumeric()) {
                count += 1;
            }
        }
        i = j;
    }
    count
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_have_the_example_router_slugs() {
        let router = router();
        let slugs: Vec<_> = router
            .routes()
            .iter()
            .map(|r| r.slug().to_string())
            .collect();
        assert_eq!(
            slugs,
            [
                "profilePicture",
                "messageAttachment",
                "mediaPost",
                "documentReview"
            ]
        );
        let media = router.get("mediaPost").unwrap().config();
        assert_eq!(media.types[0].max_file_count, 4);
        assert_eq!(media.types[0].max_file_size, 2 * 1024 * 1024);
        assert_eq!(media.types[1].max_file_size, 256 * 1024 * 1024);
        assert!(
            router
                .get("documentReview")
                .unwrap()
                .config()
                .await_server_data
        );
        assert_eq!(
            router
                .get("messageAttachment")
                .unwrap()
                .config()
                .max_total_file_count,
            Some(1)
        );
    }

    #[test]
    fn captions_are_validated() {
        assert!(PostInput {
            caption: "hi".into()
        }
        .validate()
        .is_ok());
        assert!(PostInput { caption: "".into() }.validate().is_err());
        assert!(PostInput {
            caption: "   ".into()
        }
        .validate()
        .is_err());
        assert!(PostInput {
            caption: "x".repeat(281)
        }
        .validate()
        .is_err());
    }

    #[test]
    fn pages_are_counted_not_pages_trees() {
        let pdf = b"%PDF-1.4\n1 0 obj<</Type /Catalog /Pages 2 0 R>>endobj\n\
            2 0 obj<</Type/Pages/Kids[3 0 R 4 0 R]/Count 2>>endobj\n\
            3 0 obj<</Type /Page/Parent 2 0 R>>endobj\n4 0 obj<</Type\n/Page>>endobj\n%%EOF";
        assert_eq!(count_pages(pdf), 2);
        assert_eq!(count_pages(b"%PDF-1.5 /Type"), 0);
    }

    #[test]
    fn extensions_come_from_the_name_or_the_type() {
        assert_eq!(extension("Beach.JPG", "image/jpeg"), "jpg");
        assert_eq!(extension("clip", "video/quicktime"), "mov");
        assert_eq!(extension("weird.name with space", "image/png"), "png");
        assert_eq!(extension("noext", "image/svg+xml"), "bin");
    }
}
