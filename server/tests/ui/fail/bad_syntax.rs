use uplift::{UploadError, UploadedFile};

async fn saved(_meta: (), _file: UploadedFile) -> Result<(), UploadError> {
    Ok(())
}

#[uplift::file_route(image; on_upload_complete = saved)]
async fn semicolon() -> Result<(), UploadError> {
    Ok(())
}

#[uplift::file_route(image, on_upload_complete = saved)]
struct NotAFunction;

fn main() {
    let _ = semicolon;
}
