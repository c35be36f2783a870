use uplift::{UploadError, UploadedFile};

async fn saved(_meta: (), _file: UploadedFile) -> Result<(), UploadError> {
    Ok(())
}

#[uplift::file_route(
    image(max_file_count = 0, max_file_count = 2),
    mime("text plain"),
    mime(max_file_size = "1MB"),
    "text/plain; charset=utf-8",
    await_server_data = "yes",
    max_total_file_count = -1,
    slug = "",
    on_upload_complete = "saved",
)]
async fn everything_wrong() -> Result<(), UploadError> {
    Ok(())
}

#[uplift::file_route(image, on_upload_complete = saved, on_upload_complete = saved, on_upload_error = |_, _, _| async {})]
async fn hooks_wrong() -> Result<(), UploadError> {
    Ok(())
}

fn main() {}
