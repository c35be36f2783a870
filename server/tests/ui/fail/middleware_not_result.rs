use serde::{Deserialize, Serialize};
use uplift::{UploadError, UploadedFile};

#[derive(Serialize, Deserialize)]
struct Session {
    user: String,
}

async fn saved(_session: Session, _file: UploadedFile) -> Result<(), UploadError> {
    Ok(())
}

#[uplift::file_route(image, on_upload_complete = saved)]
async fn profile_picture() -> Session {
    Session { user: "ann".into() }
}

// No return type at all.
#[uplift::file_route(image, on_upload_complete = saved)]
async fn forgot_the_return_type() {}

fn main() {}
