use uplift::{UploadError, UploadedFile};

async fn saved(_meta: (), _file: UploadedFile) -> Result<(), UploadError> {
    Ok(())
}

// Against the default maximum of one file.
#[uplift::file_route(image(min_file_count = 2), on_upload_complete = saved)]
async fn against_default() -> Result<(), UploadError> {
    Ok(())
}

#[uplift::file_route(video(max_file_count = 2, min_file_count = 3), on_upload_complete = saved)]
async fn against_explicit() -> Result<(), UploadError> {
    Ok(())
}

#[uplift::file_route(audio(max_file_count = 4, min_file_count = 3), max_total_file_count = 2, on_upload_complete = saved)]
async fn against_route_total() -> Result<(), UploadError> {
    Ok(())
}

fn main() {}
