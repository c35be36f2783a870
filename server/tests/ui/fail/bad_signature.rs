use uplift::{HttpRequest, PendingFiles, UploadError, UploadedFile};

async fn saved(_meta: (), _file: UploadedFile) -> Result<(), UploadError> {
    Ok(())
}

#[uplift::file_route(image, on_upload_complete = saved)]
async fn two_inputs(_name: String, _age: u32) -> Result<(), UploadError> {
    Ok(())
}

#[uplift::file_route(image, on_upload_complete = saved)]
async fn files_by_value(_files: PendingFiles) -> Result<(), UploadError> {
    Ok(())
}

#[uplift::file_route(image, on_upload_complete = saved)]
async fn two_requests(_a: HttpRequest, _b: &HttpRequest) -> Result<(), UploadError> {
    Ok(())
}

#[uplift::file_route(image, on_upload_complete = saved)]
async fn generic<T: Default>(_input: T) -> Result<(), UploadError> {
    Ok(())
}

#[uplift::file_route(image, on_upload_complete = saved)]
async fn impl_trait(_input: impl serde::de::DeserializeOwned) -> Result<(), UploadError> {
    Ok(())
}

struct Routes;

impl Routes {
    #[uplift::file_route(image, on_upload_complete = saved)]
    async fn method(&self) -> Result<(), UploadError> {
        Ok(())
    }
}

fn main() {}
