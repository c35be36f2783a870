use serde::{Deserialize, Serialize};
use uplift::{UploadError, UploadedFile};

#[derive(Serialize, Deserialize)]
struct Session {
    user: String,
}

// Takes a `String` where the route's metadata is a `Session`.
async fn saved(_user: String, _file: UploadedFile) -> Result<(), UploadError> {
    Ok(())
}

// Forgets the file key.
async fn failed(_session: Option<Session>, _error: UploadError) {}

#[uplift::file_route(image, on_upload_complete = saved, on_upload_error = failed)]
async fn profile_picture() -> Result<Session, UploadError> {
    Ok(Session { user: "ann".into() })
}

fn main() {}
