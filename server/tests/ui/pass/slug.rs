#![deny(warnings)]
//! Slugs: the function name in lowerCamelCase, or `slug = "..."`.

use uplift::{UploadError, UploadedFile};

async fn saved(_meta: (), _file: UploadedFile) -> Result<(), UploadError> {
    Ok(())
}

#[uplift::file_route(image, on_upload_complete = saved)]
async fn profile_picture() -> Result<(), UploadError> {
    Ok(())
}

#[uplift::file_route(image, on_upload_complete = saved)]
async fn upload_2_images() -> Result<(), UploadError> {
    Ok(())
}

#[uplift::file_route(image, on_upload_complete = saved)]
async fn r#type() -> Result<(), UploadError> {
    Ok(())
}

#[uplift::file_route(image, slug = "custom-Slug_1", on_upload_complete = saved)]
async fn overridden() -> Result<(), UploadError> {
    Ok(())
}

#[uplift::file_route(video, await_server_data = false, on_upload_complete = saved)]
async fn video_clip() -> Result<(), UploadError> {
    Ok(())
}

fn main() {
    let router = uplift::router![
        profile_picture,
        upload_2_images,
        r#type,
        overridden,
        video_clip
    ];
    let slugs: Vec<&str> = router.routes().iter().map(|r| r.slug()).collect();
    assert_eq!(
        slugs,
        [
            "profilePicture",
            "upload2Images",
            "type",
            "custom-Slug_1",
            "videoClip"
        ]
    );
    assert!(!router.get("videoClip").unwrap().config().await_server_data);
}
