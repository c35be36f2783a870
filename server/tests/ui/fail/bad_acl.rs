use uplift::{UploadError, UploadedFile};

async fn saved(_meta: (), _file: UploadedFile) -> Result<(), UploadError> {
    Ok(())
}

#[uplift::file_route(image(acl = "public"), on_upload_complete = saved)]
async fn close_to_a_value() -> Result<(), UploadError> {
    Ok(())
}

#[uplift::file_route(image(acl = private), on_upload_complete = saved)]
async fn not_a_string() -> Result<(), UploadError> {
    Ok(())
}

#[uplift::file_route(pdf(content_disposition = "download"), on_upload_complete = saved)]
async fn bad_disposition() -> Result<(), UploadError> {
    Ok(())
}

fn main() {}
