#![deny(warnings)]
//! The middleware's parameters are recognised by type, in any order, by value or by reference;
//! the generated closure must not warn whichever of them are missing.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use ts_rs::TS;
use uplift::{HttpRequest, PendingFiles, UploadError, UploadedFile};
use validator::Validate;

#[derive(Deserialize, Validate, JsonSchema, TS)]
pub struct Input {
    #[validate(range(min = 1))]
    pub count: u32,
}

#[derive(Serialize, Deserialize)]
pub struct Meta {
    pub n: usize,
}

async fn done(meta: Meta, _file: UploadedFile) -> Result<usize, UploadError> {
    Ok(meta.n)
}

#[uplift::file_route(image, on_upload_complete = done)]
async fn no_params() -> Result<Meta, UploadError> {
    Ok(Meta { n: 0 })
}

#[uplift::file_route(image, on_upload_complete = done)]
async fn only_request(req: HttpRequest) -> Result<Meta, UploadError> {
    Ok(Meta {
        n: req.path().len(),
    })
}

#[uplift::file_route(image, on_upload_complete = done)]
async fn only_input(input: Input) -> Result<Meta, UploadError> {
    Ok(Meta {
        n: input.count as usize,
    })
}

#[uplift::file_route(image, on_upload_complete = done)]
async fn only_files(files: &mut PendingFiles) -> Result<Meta, UploadError> {
    files.iter_mut().for_each(|f| f.set_custom_id("x"));
    Ok(Meta { n: files.len() })
}

#[uplift::file_route(image, on_upload_complete = done)]
async fn files_then_request(
    files: &mut PendingFiles,
    req: HttpRequest,
) -> Result<Meta, UploadError> {
    Ok(Meta {
        n: files.len() + req.path().len(),
    })
}

#[uplift::file_route(image, on_upload_complete = done)]
async fn input_then_files(input: Input, files: &PendingFiles) -> Result<Meta, UploadError> {
    Ok(Meta {
        n: input.count as usize + files.len(),
    })
}

#[uplift::file_route(image, on_upload_complete = done)]
async fn all_three(
    req: HttpRequest,
    input: Input,
    files: &mut PendingFiles,
) -> Result<Meta, UploadError> {
    Ok(Meta {
        n: req.path().len() + input.count as usize + files.len(),
    })
}

#[uplift::file_route(image, on_upload_complete = done)]
async fn all_three_reversed(
    files: &mut PendingFiles,
    input: Input,
    req: &HttpRequest,
) -> Result<Meta, UploadError> {
    Ok(Meta {
        n: req.path().len() + input.count as usize + files.len(),
    })
}

#[uplift::file_route(image, on_upload_complete = done)]
async fn input_by_reference(
    _: &actix_web::HttpRequest,
    input: &Input,
) -> Result<Meta, UploadError> {
    Ok(Meta {
        n: input.count as usize,
    })
}

#[uplift::file_route(image, on_upload_complete = done)]
async fn patterns(
    Input { count }: Input,
    _: &mut uplift::PendingFiles,
) -> Result<Meta, UploadError> {
    Ok(Meta { n: count as usize })
}

// Named like the generated closure's locals: hygiene keeps them apart.
#[uplift::file_route(image, on_upload_complete = done)]
async fn req(files: &mut PendingFiles) -> Result<Meta, UploadError> {
    Ok(Meta { n: files.len() })
}

#[uplift::file_route(image, on_upload_complete = done)]
async fn meta(input: Input) -> Result<Meta, UploadError> {
    Ok(Meta {
        n: input.count as usize,
    })
}

/// Any error type that converts into `UploadError`.
pub struct Denied;

impl From<Denied> for UploadError {
    fn from(_: Denied) -> Self {
        UploadError::forbidden("denied")
    }
}

#[uplift::file_route(image, on_upload_complete = done)]
async fn own_error(req: HttpRequest) -> Result<Meta, Denied> {
    if req.path().is_empty() {
        return Err(Denied);
    }
    Ok(Meta { n: 1 })
}

// Compiled out: the generated items go with it.
#[cfg(any())]
#[uplift::file_route(image, on_upload_complete = done)]
async fn compiled_out() -> Result<Meta, UploadError> {
    Ok(Meta { n: 0 })
}

fn main() {
    // Routes can live in function bodies too.
    #[uplift::file_route(pdf, on_upload_complete = done)]
    async fn local(input: Input) -> Result<Meta, UploadError> {
        Ok(Meta {
            n: input.count as usize,
        })
    }

    let router = uplift::router![
        no_params,
        only_request,
        only_input,
        only_files,
        files_then_request,
        input_then_files,
        all_three,
        all_three_reversed,
        input_by_reference,
        patterns,
        req,
        meta,
        own_error,
        local,
    ];
    assert_eq!(router.routes().len(), 14);
    assert!(router.get("allThreeReversed").is_some());
    assert!(router.get("req").is_some());

    // The functions are still plain async functions.
    let _ = no_params();
    let _ = only_input(Input { count: 1 });
}
