use uplift::{UploadError, UploadedFile};

async fn saved(_meta: (), _file: UploadedFile) -> Result<(), UploadError> {
    Ok(())
}

#[uplift::file_route(image, image(max_file_count = 2), on_upload_complete = saved)]
async fn same_shorthand() -> Result<(), UploadError> {
    Ok(())
}

#[uplift::file_route(mime("application/json"), "Application/JSON", on_upload_complete = saved)]
async fn same_mime() -> Result<(), UploadError> {
    Ok(())
}

#[uplift::file_route(image, "image/*", pdf, mime("application/pdf"), on_upload_complete = saved)]
async fn same_pattern() -> Result<(), UploadError> {
    Ok(())
}

fn main() {}
