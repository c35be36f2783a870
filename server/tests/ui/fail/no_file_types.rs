use uplift::{UploadError, UploadedFile};

async fn saved(_meta: (), _file: UploadedFile) -> Result<(), UploadError> {
    Ok(())
}

#[uplift::file_route(max_total_size = "10MB", on_upload_complete = saved)]
async fn nothing_accepted() -> Result<(), UploadError> {
    Ok(())
}

fn main() {}
