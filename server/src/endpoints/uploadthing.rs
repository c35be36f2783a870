//! UploadThing's protocol (v7), so that a frontend built on the stock `uploadthing/client` or
//! `@uploadthing/react` (`genUploader`, `useUploadThing`, `<UploadButton>`, …) uploads to an
//! Uplift app unmodified: point its `url` at `{base}/uploadthing`.
//!
//! | method | path                                     | what                                     |
//! |--------|------------------------------------------|------------------------------------------|
//! | GET    | `{base}/uploadthing`                     | every route's config in UploadThing's notation |
//! | POST   | `{base}/uploadthing?actionType=upload&slug={slug}` | input → files → middleware, as prepare; one ingest URL per file |
//! | HEAD   | `{base}/uploadthing/ingest/{id}`         | `x-ut-range-start`: the bytes received   |
//! | PUT    | `{base}/uploadthing/ingest/{id}`         | the rest of the file, from `Range: bytes={start}-`, as the multipart field `file` |
//!
//! Each file is a resumable upload of known length underneath, the same as a tus upload (its
//! record, store, lock, running digest and completion), so a paused or broken upload resumes
//! where its bytes stopped, survives a crash of the server, and works on every storage backend
//! and instance. The `PUT` that brings the last byte answers once the file is stored — and,
//! on a route that awaits server data, once its completion hook answered, with that answer.
//! Errors are Uplift's error body with UploadThing's `message` beside it.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::Instant;

use actix_web::error::PayloadError;
use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse, HttpResponseBuilder};
use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt, TryStreamExt};
use serde::Deserialize;

use crate::db::TusState;
use crate::error::{ErrorCode, UploadError};
use crate::form::{multipart_error, parser};
use crate::pipeline::body::Body;
use crate::pipeline::checks::admit_declared;
use crate::pipeline::views::uploaded_file;
use crate::pipeline::{self, route_of_record};
use crate::protocol::uploadthing::UPLOADTHING_VERSION;
use crate::protocol::{
    FileDeclaration, PrepareRequest, UploadStatus, UtError, UtFileType, UtPresigned, UtRoute,
    UtUploaded,
};
use crate::route::RouteConfig;
use crate::state::{origin, Shared};

use super::tus;

/// The header in which the ingest's `HEAD` tells how many bytes it holds.
pub(crate) const RANGE_START_HEADER: &str = "x-ut-range-start";

/// `{base}/uploadthing`: GET answers the routes' config, POST the upload request.
pub(crate) async fn handler(
    shared: web::Data<Shared>,
    req: HttpRequest,
    body: web::Payload,
) -> HttpResponse {
    let shared = shared.into_inner();
    let result = match *req.method() {
        Method::POST => upload_request(&shared, &req, body).await,
        _ => Ok(answer(StatusCode::OK).json(route_config(&shared))),
    };
    result.unwrap_or_else(error)
}

/// `{base}/uploadthing/ingest/{id}`: HEAD answers the bytes received, PUT takes the rest.
pub(crate) async fn ingest(
    shared: web::Data<Shared>,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Payload,
) -> HttpResponse {
    let shared = shared.into_inner();
    let result = match *req.method() {
        Method::PUT => put(&shared, &req, &id, body).await,
        _ => head(&shared, &req, &id).await,
    };
    result.unwrap_or_else(error)
}

fn answer(status: StatusCode) -> HttpResponseBuilder {
    let mut b = HttpResponse::build(status);
    b.insert_header(("x-uploadthing-version", UPLOADTHING_VERSION))
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"));
    b
}

/// An error as UploadThing's client reads it (`message`), with Uplift's body beside it.
fn error(err: UploadError) -> HttpResponse {
    if err.code() == ErrorCode::Internal {
        tracing::error!(error = %err, "internal error");
    }
    answer(err.status()).json(UtError {
        message: err.message().to_string(),
        error: err.body(),
    })
}

/// A size in UploadThing's notation: the largest binary unit that divides it exactly, else
/// bytes (`4MB`, `512KB`, `1500000B`). UploadThing's client drops fractions (`1.5MB` is 1 MB
/// to it), so a size is never written with one.
pub(crate) fn size_notation(bytes: u64) -> String {
    for (unit, shift) in [("GB", 30), ("MB", 20), ("KB", 10)] {
        let one = 1u64 << shift;
        if bytes >= one && bytes.is_multiple_of(one) {
            return format!("{}{unit}", bytes >> shift);
        }
    }
    format!("{bytes}B")
}

fn ut_route(config: &RouteConfig) -> UtRoute {
    UtRoute {
        slug: config.slug.to_string(),
        config: config
            .types
            .iter()
            .map(|rule| {
                let t = UtFileType {
                    max_file_size: size_notation(rule.max_file_size),
                    max_file_count: rule.max_file_count,
                    min_file_count: rule.min_file_count,
                    content_disposition: rule.content_disposition,
                    acl: rule.acl,
                };
                (rule.file_type.as_str().to_string(), t)
            })
            .collect(),
    }
}

fn route_config(shared: &Shared) -> Vec<UtRoute> {
    shared
        .router
        .routes()
        .iter()
        .map(|r| ut_route(r.config()))
        .collect()
}

#[derive(Deserialize)]
struct UploadQuery {
    #[serde(rename = "actionType")]
    action_type: String,
    slug: String,
}

/// The request body, read whole up to `limit` bytes (`TOO_LARGE` past it), with the idle
/// timeout of every body.
async fn read_json(
    shared: &Shared,
    body: web::Payload,
    limit: usize,
) -> Result<PrepareRequest, UploadError> {
    let (mut body, idle) = Body::new(body, shared.limits.body_idle_timeout);
    let mut raw = BytesMut::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk
            .map_err(|_| idle.explain(UploadError::bad_request("the request body was cut off")))?;
        if raw.len() + chunk.len() > limit {
            return Err(UploadError::new(
                ErrorCode::TooLarge,
                format!("the request body is larger than {limit} bytes"),
            )
            .with_data(serde_json::json!({ "limit": limit })));
        }
        raw.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&raw).map_err(|e| {
        UploadError::bad_request(format!(
            "the body is not an upload request: {{files: [{{name, size, type}}], input}} \
             (line {} column {})",
            e.line(),
            e.column()
        ))
    })
}

/// A browser sends an empty type for a file it does not know: the name's extension decides,
/// as in UploadThing's client, else `application/octet-stream`.
fn typed(mut f: FileDeclaration) -> FileDeclaration {
    if f.content_type.trim().is_empty() {
        f.content_type = mime_guess::from_path(&f.name)
            .first_raw()
            .unwrap_or("application/octet-stream")
            .to_string();
    }
    f
}

/// `POST ?actionType=upload&slug={slug}`: the route's pipeline as prepare runs it (input,
/// files against the config, middleware, the caller's limits), then one resumable upload per
/// file, answered in the order of `files`.
async fn upload_request(
    shared: &Arc<Shared>,
    req: &HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, UploadError> {
    let query: UploadQuery = serde_urlencoded::from_str(req.query_string()).map_err(|_| {
        UploadError::bad_request("send `?actionType=upload&slug={slug}` with the request")
    })?;
    if query.action_type != "upload" {
        return Err(UploadError::bad_request(
            "the only actionType this server takes is `upload`",
        ));
    }
    let route = pipeline::route(shared, &query.slug)?;
    // Before the body and the middleware: without a place for resumable uploads this
    // endpoint cannot take any.
    let store = tus::tus_store(shared)?;
    let PrepareRequest { files, input } =
        read_json(shared, body, shared.limits.max_json_body).await?;
    let files: Vec<FileDeclaration> = files.into_iter().map(typed).collect();
    let (meta, pending, caller) = admit_declared(shared, req, &route, &files, input).await?;
    let origin = origin(shared, req);
    // One resumable upload of known length per admitted file.
    let mut created: Vec<String> = Vec::with_capacity(pending.files.len());
    let result: Result<Vec<UtPresigned>, UploadError> = async {
        let mut presigned = Vec::with_capacity(pending.files.len());
        for file in pending.files {
            let size = file.size;
            let admitted = tus::Admitted {
                meta: meta.clone(),
                file,
            };
            let row = tus::new_row(shared, &route, &admitted, size, Some(caller.clone()), None);
            let state = TusState {
                offset: 0,
                length: Some(size),
                concat: None,
                metadata: None,
                locked: false,
            };
            created.push(row.key.clone());
            store.create(&row.key).await?;
            shared.records.tus_insert(&row, &state).await?;
            tracing::info!(slug = %row.slug, key = %crate::sanitize::log_tag(&row.key), bytes = size, outcome = "prepared", "UploadThing upload prepared");
            presigned.push(UtPresigned {
                url: format!(
                    "{origin}{}/uploadthing/ingest/{}",
                    shared.base_path,
                    tus::upload_id(shared, &row.key)
                ),
                key: row.key,
                name: row.name,
                custom_id: row.custom_id,
            });
        }
        Ok(presigned)
    }
    .await;
    if result.is_err() {
        // All or nothing: a request refused halfway gives back the uploads it created, which
        // its client never heard of (they would hold the caller's quota until they expire).
        for key in &created {
            let _ = shared.records.tus_terminate(key).await;
            let _ = store.remove(key).await;
        }
    }
    Ok(answer(StatusCode::OK).json(result?))
}

/// `HEAD`: the bytes held. UploadThing's client reads this header whatever the status, and
/// resumes from it at once — also right after pausing, when the server may not have seen the
/// paused `PUT` end yet. So while a `PUT` still writes, the answer waits for it to end (at most
/// a lock lease: a `PUT` that stalls longer loses its lock); still writing after that, 423.
async fn head(
    shared: &Arc<Shared>,
    req: &HttpRequest,
    id: &str,
) -> Result<HttpResponse, UploadError> {
    let key = tus::authorize(shared, id)?;
    ingestible(shared, &key).await?;
    let lease = Duration::from_millis(tus::lease_ms(shared) as u64);
    let deadline = Instant::now() + lease;
    loop {
        let (rec, received, writing) = tus::received(shared, req, &key).await?;
        if !writing || rec.status != UploadStatus::Uploading {
            return Ok(answer(StatusCode::OK)
                .insert_header((RANGE_START_HEADER, received.to_string()))
                .finish());
        }
        if Instant::now() >= deadline {
            return Err(UploadError::new(
                ErrorCode::Locked,
                "a PUT is still writing this file; ask again when it has ended",
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The record of an upload this ingest can take: one of known length that is neither part of a
/// concatenation nor one (tus uploads share the capability, not all of them fit this protocol).
async fn ingestible(shared: &Shared, key: &str) -> Result<crate::db::UploadRecord, UploadError> {
    let (rec, state) = shared
        .records
        .tus_get(key, crate::state::now_ms())
        .await?
        .ok_or_else(|| UploadError::not_found("no such upload"))?;
    if state.length.is_none() || state.is_partial() || state.is_final() {
        return Err(UploadError::forbidden(
            "this is a tus upload of a kind UploadThing's protocol cannot continue: use tus",
        ));
    }
    Ok(rec)
}

/// `Range: bytes={start}-` (absent: from the first byte).
fn range_start(req: &HttpRequest) -> Result<u64, UploadError> {
    let Some(range) = req.headers().get(actix_web::http::header::RANGE) else {
        return Ok(0);
    };
    range
        .to_str()
        .ok()
        .and_then(|r| r.trim().strip_prefix("bytes="))
        .and_then(|r| r.strip_suffix('-'))
        .filter(|n| !n.is_empty() && n.len() <= 20 && n.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| UploadError::bad_request("Range must be `bytes={start}-`"))
}

/// `PUT`: the multipart field `file` holds the file from `Range`'s start to its end.
async fn put(
    shared: &Arc<Shared>,
    req: &HttpRequest,
    id: &str,
    payload: web::Payload,
) -> Result<HttpResponse, UploadError> {
    let key = tus::authorize(shared, id)?;
    let start = range_start(req)?;
    let rec = ingestible(shared, &key).await?;
    let origin = origin(shared, req);
    if rec.status == UploadStatus::Complete && start == rec.size {
        // The answer to the PUT that completed the file was lost: the same answer again.
        return uploaded(shared, &origin, &key, rec.server_data.clone()).await;
    }
    let route = route_of_record(shared, &rec)?;
    let (body, idle) = Body::new(payload, shared.limits.body_idle_timeout);
    let mut form = parser(req, body);
    let field = match form.try_next().await.map_err(multipart_error) {
        Ok(Some(f)) if f.name() == Some("file") => f,
        Ok(Some(_)) => {
            return Err(UploadError::bad_request(
                "the body's one field is `file`, holding the file's bytes",
            ))
        }
        Ok(None) => return Err(UploadError::bad_request("the body has no `file` field")),
        Err(e) => return Err(idle.explain(e)),
    };
    let bytes = Confirmed::new(
        field.map(|r| r.map_err(|e| PayloadError::Io(std::io::Error::other(e.to_string())))),
    );
    let written = tus::write(shared, req, &route, &key, start, bytes, None, None, None)
        .await
        .map_err(|e| idle.explain(range_error(e)))?;
    if written.offset < rec.size {
        let err = UploadError::new(
            ErrorCode::SizeMismatch,
            format!(
                "the body ended after {} of the file's {} bytes; HEAD this URL for `{RANGE_START_HEADER}` and PUT the rest",
                written.offset, rec.size
            ),
        )
        .with_data(serde_json::json!({ "received": written.offset, "size": rec.size }));
        return Err(idle.explain(err));
    }
    uploaded(shared, &origin, &key, written.server_data).await
}

/// tus's refusals of a body in this protocol's words (`Range`, `x-ut-range-start`, the
/// declared size).
fn range_error(err: UploadError) -> UploadError {
    if err.code() == ErrorCode::TooLarge {
        return UploadError::new(
            ErrorCode::TooLarge,
            "the body goes past the file's declared size",
        );
    }
    if err.code() != ErrorCode::OffsetMismatch {
        return err;
    }
    let Some(offset) = err.data().and_then(|d| d["offset"].as_u64()) else {
        return err;
    };
    UploadError::new(
        ErrorCode::OffsetMismatch,
        format!(
            "Range does not start where the upload is: it holds {offset} bytes; HEAD this URL \
             for `{RANGE_START_HEADER}` and PUT from there"
        ),
    )
    .with_data(serde_json::json!({ "offset": offset }))
}

/// The answer for a stored file.
async fn uploaded(
    shared: &Shared,
    origin: &str,
    key: &str,
    server_data: Option<serde_json::Value>,
) -> Result<HttpResponse, UploadError> {
    let rec = shared
        .records
        .get(key)
        .await?
        .ok_or_else(|| UploadError::not_found("no such upload"))?;
    let file = uploaded_file(shared, origin, &rec)
        .ok_or_else(|| UploadError::internal_msg("a completed upload has no stored file"))?;
    Ok(answer(StatusCode::OK).json(UtUploaded {
        app_url: file.url.clone(),
        ufs_url: file.url.clone(),
        url: file.url,
        file_hash: file.sha256,
        server_data,
    }))
}

/// Field bytes, each passed on only once the parser has shown it is not the start of the
/// closing boundary: the last [`HOLD`] bytes wait for more of the body, or for the field's
/// clean end. A body cut off inside the boundary (a paused upload) would otherwise leave the
/// boundary's first bytes in the file, where a resume would keep them.
struct Confirmed<S> {
    inner: S,
    /// The bytes not confirmed yet: at most `HOLD`.
    held: Bytes,
    /// Confirmed bytes to pass on next.
    ready: Option<Bytes>,
    done: bool,
}

/// More than a boundary line can be: `\r\n--` and a boundary of at most 70 characters.
const HOLD: usize = 80;

impl<S> Confirmed<S> {
    fn new(inner: S) -> Self {
        Confirmed {
            inner,
            held: Bytes::new(),
            ready: None,
            done: false,
        }
    }
}

impl<S> Stream for Confirmed<S>
where
    S: Stream<Item = Result<Bytes, PayloadError>> + Unpin,
{
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if let Some(b) = this.ready.take() {
            return Poll::Ready(Some(Ok(b)));
        }
        loop {
            if this.done {
                return Poll::Ready(None);
            }
            match Pin::new(&mut this.inner).poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Err(e))) => {
                    // Cut off: what is held may be the boundary's start, never file bytes.
                    this.done = true;
                    this.held = Bytes::new();
                    return Poll::Ready(Some(Err(e)));
                }
                Poll::Ready(None) => {
                    this.done = true;
                    let rest = std::mem::take(&mut this.held);
                    if !rest.is_empty() {
                        return Poll::Ready(Some(Ok(rest)));
                    }
                }
                Poll::Ready(Some(Ok(mut chunk))) if chunk.len() >= HOLD => {
                    let tail = chunk.split_off(chunk.len() - HOLD);
                    let before = std::mem::replace(&mut this.held, tail);
                    if before.is_empty() {
                        if !chunk.is_empty() {
                            return Poll::Ready(Some(Ok(chunk)));
                        }
                    } else {
                        if !chunk.is_empty() {
                            this.ready = Some(chunk);
                        }
                        return Poll::Ready(Some(Ok(before)));
                    }
                }
                Poll::Ready(Some(Ok(chunk))) => {
                    let mut all = BytesMut::with_capacity(this.held.len() + chunk.len());
                    all.extend_from_slice(&this.held);
                    all.extend_from_slice(&chunk);
                    let mut all = all.freeze();
                    if all.len() > HOLD {
                        this.held = all.split_off(all.len() - HOLD);
                        return Poll::Ready(Some(Ok(all)));
                    }
                    this.held = all;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_use_the_largest_exact_binary_unit_else_bytes() {
        assert_eq!(size_notation(4 * 1024 * 1024), "4MB");
        assert_eq!(size_notation(512 * 1024), "512KB");
        assert_eq!(size_notation(1 << 30), "1GB");
        assert_eq!(size_notation(2048u64 << 30), "2048GB");
        assert_eq!(size_notation(1_500_000), "1500000B");
        assert_eq!(size_notation(1536 * 1024), "1536KB");
        assert_eq!(size_notation(100), "100B");
        assert_eq!(size_notation(0), "0B");
    }

    fn run(chunks: Vec<Result<&'static [u8], ()>>) -> (Vec<u8>, bool) {
        let items: Vec<Result<Bytes, PayloadError>> = chunks
            .into_iter()
            .map(|c| match c {
                Ok(b) => Ok(Bytes::from_static(b)),
                Err(()) => Err(PayloadError::Incomplete(None)),
            })
            .collect();
        let mut s = Confirmed::new(futures_util::stream::iter(items));
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut out = Vec::new();
            let mut failed = false;
            while let Some(item) = s.next().await {
                match item {
                    Ok(b) => out.extend_from_slice(&b),
                    Err(_) => failed = true,
                }
            }
            (out, failed)
        })
    }

    #[test]
    fn a_clean_end_passes_every_byte_in_order() {
        let big: &'static [u8] = Box::leak(vec![7u8; 1000].into_boxed_slice());
        let (out, failed) = run(vec![Ok(b"abc"), Ok(big), Ok(b"x"), Ok(big), Ok(b"")]);
        let mut want = b"abc".to_vec();
        want.extend_from_slice(big);
        want.push(b'x');
        want.extend_from_slice(big);
        assert_eq!(out, want);
        assert!(!failed);
    }

    #[test]
    fn a_cut_off_body_drops_its_last_unconfirmed_bytes() {
        let big: &'static [u8] = Box::leak(vec![7u8; 1000].into_boxed_slice());
        let (out, failed) = run(vec![Ok(big), Ok(b"\r\n--bou"), Err(())]);
        assert!(failed);
        // Everything but the last HOLD bytes before the cut.
        assert_eq!(out.len(), 1000 + 7 - HOLD);
        assert!(out.iter().all(|&b| b == 7));
    }
}
