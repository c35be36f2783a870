use schemars::JsonSchema;
use serde::Deserialize;
use ts_rs::TS;
use uplift::{UploadError, UploadedFile};

// Not `Validate`: the input is validated before the middleware runs.
#[derive(Deserialize, JsonSchema, TS)]
struct Input {
    title: String,
}

// Not `Serialize`: it is stored between the middleware and the completion hook.
#[derive(Deserialize)]
struct Meta {
    title: String,
}

async fn saved(_meta: Meta, _file: UploadedFile) -> Result<(), UploadError> {
    Ok(())
}

async fn saved_title(_title: String, _file: UploadedFile) -> Result<(), UploadError> {
    Ok(())
}

#[uplift::file_route(image, on_upload_complete = saved_title)]
async fn input_not_validate(input: Input) -> Result<String, UploadError> {
    Ok(input.title)
}

#[uplift::file_route(image, on_upload_complete = saved)]
async fn meta_not_serialize() -> Result<Meta, UploadError> {
    Ok(Meta {
        title: String::new(),
    })
}

fn main() {}
