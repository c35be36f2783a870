use uplift::{UploadError, UploadedFile};

async fn saved(_meta: (), _file: UploadedFile) -> Result<(), UploadError> {
    Ok(())
}

#[uplift::file_route(imag, on_upload_complete = saved)]
async fn typo() -> Result<(), UploadError> {
    Ok(())
}

#[uplift::file_route(vidoe(max_file_count = 2), on_upload_complete = saved)]
async fn swapped_letters() -> Result<(), UploadError> {
    Ok(())
}

#[uplift::file_route(spreadsheet, on_upload_complete = saved)]
async fn nothing_close() -> Result<(), UploadError> {
    Ok(())
}

fn main() {}
