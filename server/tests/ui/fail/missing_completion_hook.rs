use serde::{Deserialize, Serialize};
use uplift::UploadError;

#[derive(Serialize, Deserialize)]
struct Session {
    user: String,
}

#[uplift::file_route(image(max_file_size = "2MB"))]
async fn profile_picture() -> Result<Session, UploadError> {
    Ok(Session { user: "ann".into() })
}

fn main() {
    // No cascade: the function and the route still exist.
    let _ = profile_picture;
    let _ = uplift::router![profile_picture];
}
