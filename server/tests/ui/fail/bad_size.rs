use uplift::{UploadError, UploadedFile};

async fn saved(_meta: (), _file: UploadedFile) -> Result<(), UploadError> {
    Ok(())
}

#[uplift::file_route(image(max_file_size = "2XB"), on_upload_complete = saved)]
async fn unknown_unit() -> Result<(), UploadError> {
    Ok(())
}

#[uplift::file_route(image(max_file_size = "1024"), on_upload_complete = saved)]
async fn no_unit() -> Result<(), UploadError> {
    Ok(())
}

#[uplift::file_route(image(max_file_size = "0.5B"), on_upload_complete = saved)]
async fn zero_bytes() -> Result<(), UploadError> {
    Ok(())
}

#[uplift::file_route(video(max_file_size = "99999999TB"), on_upload_complete = saved)]
async fn too_large() -> Result<(), UploadError> {
    Ok(())
}

#[uplift::file_route(video(max_file_size = 2MB), max_total_size = 4096, on_upload_complete = saved)]
async fn not_a_string() -> Result<(), UploadError> {
    Ok(())
}

fn main() {}
