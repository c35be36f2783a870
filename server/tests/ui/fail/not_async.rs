use uplift::{HttpRequest, UploadError, UploadedFile};

async fn saved(_meta: (), _file: UploadedFile) -> Result<(), UploadError> {
    Ok(())
}

#[uplift::file_route(image, on_upload_complete = saved)]
fn profile_picture(_req: HttpRequest) -> Result<(), UploadError> {
    Ok(())
}

fn main() {
    let _ = uplift::router![profile_picture];
}
