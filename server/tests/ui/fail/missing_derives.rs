use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uplift::{UploadError, UploadedFile};
use validator::Validate;

// Deserialize + Validate, but neither `JsonSchema` nor `TS`: the input is in the OpenAPI
// document and the TypeScript, so it must describe itself.
#[derive(Deserialize, Validate)]
struct Input {
    #[validate(length(max = 280))]
    caption: String,
}

#[derive(Serialize, Deserialize)]
struct Meta {
    caption: String,
}

// `JsonSchema` but no `TS`: the server data is typed in TypeScript as well.
#[derive(Serialize, JsonSchema)]
struct Saved {
    url: String,
}

async fn saved(_meta: Meta, file: UploadedFile) -> Result<Saved, UploadError> {
    Ok(Saved { url: file.url })
}

#[uplift::file_route(image, on_upload_complete = saved)]
async fn media_post(input: Input) -> Result<Meta, UploadError> {
    Ok(Meta { caption: input.caption })
}

fn main() {}
