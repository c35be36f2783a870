use uplift::{UploadError, UploadedFile};

async fn saved(_meta: (), _file: UploadedFile) -> Result<(), UploadError> {
    Ok(())
}

#[uplift::file_route(image(max_size = "2MB"), on_upload_complete = saved)]
async fn in_a_type() -> Result<(), UploadError> {
    Ok(())
}

#[uplift::file_route(image, max_size = "2MB", on_upload_complet = saved)]
async fn on_the_route() -> Result<(), UploadError> {
    Ok(())
}

#[uplift::file_route(image, max_file_size = "2MB", on_upload_complete = saved)]
async fn type_option_on_the_route() -> Result<(), UploadError> {
    Ok(())
}

#[uplift::file_route(image(slug = "pictures"), on_upload_complete = saved)]
async fn route_option_in_a_type() -> Result<(), UploadError> {
    Ok(())
}

fn main() {}
