//! `multipart/form-data` bodies, as the multipart upload and the signed forms read them: the
//! parser's errors said without echoing the body, and small text fields read with a bound.

use actix_multipart::Field;
use futures_util::StreamExt;

use crate::error::{ErrorCode, UploadError};

/// A body the multipart parser refused.
pub(crate) fn multipart_error(e: actix_multipart::MultipartError) -> UploadError {
    use actix_multipart::MultipartError as E;
    let what = match e {
        E::ContentTypeMissing | E::ContentTypeParse | E::ContentTypeIncompatible => {
            "send the body as multipart/form-data with a boundary"
        }
        E::BoundaryMissing => "the multipart Content-Type has no boundary",
        E::ContentDispositionMissing | E::ContentDispositionNameMissing => {
            "every part needs a Content-Disposition with a name"
        }
        E::Incomplete => "the multipart body ended before its closing boundary",
        _ => "the multipart body is malformed",
    };
    UploadError::bad_request(what)
}

/// A text field, read whole: at most `limit` bytes (`TOO_LARGE` past it).
pub(crate) async fn read_small(mut field: Field, limit: usize) -> Result<Vec<u8>, UploadError> {
    let mut buf = Vec::new();
    while let Some(chunk) = field.next().await {
        let chunk = chunk.map_err(multipart_error)?;
        if buf.len() + chunk.len() > limit {
            return Err(UploadError::new(
                ErrorCode::TooLarge,
                format!("a form field is larger than {limit} bytes"),
            )
            .with_data(serde_json::json!({ "limit": limit })));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf)
}
