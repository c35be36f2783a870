use uplift::{UploadError, UploadedFile};

async fn saved(_meta: (), _file: UploadedFile) -> Result<(), UploadError> {
    Ok(())
}

// The slug derived from the name is taken by a built-in endpoint...
#[uplift::file_route(image, on_upload_complete = saved)]
async fn files() -> Result<(), UploadError> {
    Ok(())
}

// ...and so is this one.
#[uplift::file_route(image, slug = "download", on_upload_complete = saved)]
async fn downloadable() -> Result<(), UploadError> {
    Ok(())
}

// ...and `objects`, the signed uploads' endpoints.
#[uplift::file_route(image, slug = "objects", on_upload_complete = saved)]
async fn objects_route() -> Result<(), UploadError> {
    Ok(())
}

fn main() {}
