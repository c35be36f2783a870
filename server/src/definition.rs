//! A file route as the runtime holds it, and the typed builder `#[file_route]` expands to.
//!
//! The macro never names the input, metadata or server-data types twice: it hands the
//! middleware and the hooks to [`RouteBuilder`], whose generic methods infer them from the
//! functions' signatures and erase them behind JSON at the boundary to the HTTP layer.

use std::any::Any;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;

use actix_web::HttpRequest;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;
use validator::Validate;

use crate::describe::TypeDescriptor;

use crate::error::{validation_errors, ErrorCode, UploadError};
use crate::protocol::{RouteInfo, UploadedFile};
use crate::route::RouteConfig;
use crate::sanitize::sanitize_filename;

pub(crate) type LocalBoxFuture<T> = Pin<Box<dyn Future<Output = T> + 'static>>;

/// Implemented by the item `#[file_route]` generates next to your middleware function;
/// `uplift::router![...]` collects them.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a file route",
    label = "not annotated with `#[uplift::file_route(...)]`",
    note = "annotate the middleware function with `#[uplift::file_route(...)]` and pass its name to `uplift::router![...]`"
)]
pub trait FileRoute {
    /// Builds the route with its config, middleware and hooks.
    fn route() -> Route;
}

/// The input of a route that declares none. Accepts `null` or `{}`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Validate)]
pub struct NoInput {}

const NO_INPUT_DOC: &str = "The input of a route that declares none: `null` or `{}`.";

impl JsonSchema for NoInput {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "NoInput".into()
    }
    fn schema_id() -> std::borrow::Cow<'static, str> {
        "uplift::NoInput".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": NO_INPUT_DOC,
            "type": ["object", "null"],
            "additionalProperties": false,
        })
    }
}

impl TS for NoInput {
    type WithoutGenerics = Self;
    type OptionInnerType = Self;
    fn docs() -> Option<String> {
        Some(format!("/**\n * {NO_INPUT_DOC}\n */\n"))
    }
    fn name(_: &ts_rs::Config) -> String {
        "NoInput".into()
    }
    fn inline(_: &ts_rs::Config) -> String {
        "Record<string, never> | null".into()
    }
    fn decl(cfg: &ts_rs::Config) -> String {
        format!("type NoInput = {};", Self::inline(cfg))
    }
    fn decl_concrete(cfg: &ts_rs::Config) -> String {
        Self::decl(cfg)
    }
    fn output_path() -> Option<std::path::PathBuf> {
        Some("NoInput.ts".into())
    }
}

/// One file the client announced, as the middleware sees it before anything is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingFile {
    pub(crate) name: String,
    pub(crate) size: u64,
    pub(crate) content_type: String,
    pub(crate) custom_id: Option<String>,
    pub(crate) sha256: Option<String>,
    pub(crate) rule: usize,
}

impl PendingFile {
    /// The sanitized display name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The declared size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }
    /// The declared, normalized MIME type.
    pub fn content_type(&self) -> &str {
        &self.content_type
    }
    /// The identifier set with [`set_custom_id`](Self::set_custom_id), if any.
    pub fn custom_id(&self) -> Option<&str> {
        self.custom_id.as_deref()
    }
    /// Renames the file for display and `Content-Disposition`. The storage key is unaffected.
    pub fn rename(&mut self, name: impl AsRef<str>) {
        self.name = sanitize_filename(name.as_ref());
    }
    /// Attaches your own identifier, returned with the file everywhere.
    pub fn set_custom_id(&mut self, id: impl Into<String>) {
        self.custom_id = Some(id.into());
    }
}

/// The files of one upload, handed to the middleware so it can inspect, rename or tag them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PendingFiles {
    pub(crate) files: Vec<PendingFile>,
}

impl PendingFiles {
    /// How many files the upload declares.
    pub fn len(&self) -> usize {
        self.files.len()
    }
    /// Whether the upload declares no file (never the case for a prepared upload).
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
    /// The files, in the order the client declared them.
    pub fn iter(&self) -> std::slice::Iter<'_, PendingFile> {
        self.files.iter()
    }
    /// The files, mutably: rename them or set their `custom_id`.
    pub fn iter_mut(&mut self) -> std::slice::IterMut<'_, PendingFile> {
        self.files.iter_mut()
    }
    /// Total declared bytes.
    pub fn total_size(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }
}

impl<'a> IntoIterator for &'a mut PendingFiles {
    type Item = &'a mut PendingFile;
    type IntoIter = std::slice::IterMut<'a, PendingFile>;
    fn into_iter(self) -> Self::IntoIter {
        self.files.iter_mut()
    }
}

impl<'a> IntoIterator for &'a PendingFiles {
    type Item = &'a PendingFile;
    type IntoIter = std::slice::Iter<'a, PendingFile>;
    fn into_iter(self) -> Self::IntoIter {
        self.files.iter()
    }
}

type ParseInput = dyn Fn(Value) -> Result<Box<dyn Any>, UploadError> + Send + Sync;
type Middleware = dyn Fn(
        HttpRequest,
        Box<dyn Any>,
        PendingFiles,
    ) -> LocalBoxFuture<Result<(Value, PendingFiles), UploadError>>
    + Send
    + Sync;
type Complete =
    dyn Fn(Value, UploadedFile) -> LocalBoxFuture<Result<Value, UploadError>> + Send + Sync;
type OnError = dyn Fn(Option<Value>, UploadError, String) -> LocalBoxFuture<()> + Send + Sync;
type OnDelete =
    dyn Fn(Option<Value>, crate::protocol::FileInfo) -> LocalBoxFuture<()> + Send + Sync;

/// A file route with its types erased; what the router serves.
#[derive(Clone)]
pub struct Route {
    pub(crate) config: RouteConfig,
    /// The input type, for the OpenAPI document and the TypeScript types.
    pub(crate) input: TypeDescriptor,
    /// The completion hook's return type, likewise.
    pub(crate) server_data: TypeDescriptor,
    /// The standalone JSON Schema of the input, served by `GET {base}`.
    pub(crate) input_schema: Arc<Value>,
    pub(crate) parse_input: Arc<ParseInput>,
    pub(crate) middleware: Arc<Middleware>,
    pub(crate) complete: Arc<Complete>,
    pub(crate) on_error: Option<Arc<OnError>>,
    pub(crate) on_delete: Option<Arc<OnDelete>>,
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Route")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Route {
    /// What the server enforces for this route, and what `GET {base}` tells clients.
    pub fn config(&self) -> &RouteConfig {
        &self.config
    }

    /// The route's name on the wire: the last segment of its URL (`POST {base}/{slug}`).
    pub fn slug(&self) -> &str {
        &self.config.slug
    }

    /// The JSON Schema (draft 2020-12, self-contained) of the route's input, with the
    /// constraints its `#[validate(...)]` attributes declare.
    pub fn input_schema(&self) -> &Value {
        &self.input_schema
    }

    /// What codegen knows about the route's input type.
    pub fn input_type(&self) -> &TypeDescriptor {
        &self.input
    }

    /// What codegen knows about the route's server data (the completion hook's return type).
    pub fn server_data_type(&self) -> &TypeDescriptor {
        &self.server_data
    }

    /// Deserializes and validates the route's input; `null` counts as `{}`.
    pub(crate) fn parse_input(&self, input: Value) -> Result<Box<dyn Any>, UploadError> {
        (self.parse_input)(input)
    }

    pub(crate) async fn run_middleware(
        &self,
        req: HttpRequest,
        input: Box<dyn Any>,
        files: PendingFiles,
    ) -> Result<(Value, PendingFiles), UploadError> {
        let (meta, files) = (self.middleware)(req, input, files).await?;
        // Custom ids often come from what the client sent: bounded like every client string.
        let limit = crate::sanitize::MAX_CUSTOM_ID_BYTES;
        if let Some(index) = files
            .files
            .iter()
            .position(|f| f.custom_id.as_ref().is_some_and(|id| id.len() > limit))
        {
            return Err(UploadError::bad_request(format!(
                "the custom id of file {index} is longer than {limit} bytes"
            ))
            .with_data(serde_json::json!({ "index": index, "limit": limit })));
        }
        Ok((meta, files))
    }

    pub(crate) async fn run_complete(
        &self,
        meta: Value,
        file: UploadedFile,
    ) -> Result<Value, UploadError> {
        (self.complete)(meta, file).await
    }

    pub(crate) async fn run_on_error(&self, meta: Option<Value>, error: UploadError, key: String) {
        if let Some(hook) = &self.on_error {
            hook(meta, error, key).await;
        }
    }

    /// Tells the route's `on_delete` hook that a file was deleted (`meta` is its middleware
    /// metadata as recorded).
    pub(crate) async fn run_on_delete(&self, meta: Value, file: crate::protocol::FileInfo) {
        if let Some(hook) = &self.on_delete {
            hook(Some(meta), file).await;
        }
    }
}

/// Turns what a middleware returned into metadata or a refusal.
#[diagnostic::on_unimplemented(
    message = "a file route's middleware must return `Result<Metadata, E>`, not `{Self}`",
    label = "the middleware's return type",
    note = "write `async fn my_route(req: HttpRequest, input: MyInput) -> Result<MyMetadata, uplift::UploadError>`; `E` may be any type with `Into<uplift::UploadError>`"
)]
pub trait MiddlewareOutput {
    /// The metadata the middleware hands to the completion hook on success.
    type Metadata;
    /// The metadata, or the refusal as an [`UploadError`].
    fn into_result(self) -> Result<Self::Metadata, UploadError>;
}

impl<M, E: Into<UploadError>> MiddlewareOutput for Result<M, E> {
    type Metadata = M;
    fn into_result(self) -> Result<M, UploadError> {
        self.map_err(Into::into)
    }
}

/// Selects among the hook traits' impls. Each hook trait has a second impl that never applies,
/// so that rustc cannot commit to the real impl up front: a mismatched hook then fails as a
/// whole, with the trait's `on_unimplemented` message at the hook, instead of as a bare
/// "type mismatch in function arguments" between `Fn` signatures.
#[doc(hidden)]
pub mod hook_marker {
    /// The real impl: an `async fn` with the documented parameters.
    pub enum AsyncFn {}
    /// The impl that never applies.
    pub enum Unreachable {}
    /// The real impl of the type traits: `JsonSchema + TS`, derived.
    pub enum Derived {}
    /// Implemented by nothing.
    pub trait Never {}
}

/// A function usable as `on_upload_complete` for metadata `M`. `Marker` is inferred; ignore it.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the `on_upload_complete` hook of a route whose metadata is `{M}`",
    label = "expected `async fn(metadata: {M}, file: uplift::UploadedFile) -> Result<ServerData, E>`",
    note = "the hook receives the middleware's metadata and the stored file; `ServerData` must be `Serialize` and `E: Into<uplift::UploadError>`"
)]
pub trait CompletionHook<M, Marker = hook_marker::AsyncFn>: Send + Sync + 'static {
    /// What the hook answers: the route's server data, sent to the client as JSON.
    type ServerData: Serialize + 'static;
    /// Runs the hook for one stored file.
    fn call(
        &self,
        meta: M,
        file: UploadedFile,
    ) -> LocalBoxFuture<Result<Self::ServerData, UploadError>>;
}

impl<F, Fut, M, S, E> CompletionHook<M, hook_marker::AsyncFn> for F
where
    F: Fn(M, UploadedFile) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<S, E>> + 'static,
    S: Serialize + 'static,
    E: Into<UploadError>,
{
    type ServerData = S;
    fn call(&self, meta: M, file: UploadedFile) -> LocalBoxFuture<Result<S, UploadError>> {
        let fut = self(meta, file);
        Box::pin(async move { fut.await.map_err(Into::into) })
    }
}

impl<F: hook_marker::Never + Send + Sync + 'static, M> CompletionHook<M, hook_marker::Unreachable>
    for F
{
    type ServerData = ();
    fn call(&self, _: M, _: UploadedFile) -> LocalBoxFuture<Result<(), UploadError>> {
        unreachable!("hook_marker::Never has no impls")
    }
}

/// A function usable as `on_upload_error` for metadata `M`. `Marker` is inferred; ignore it.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the `on_upload_error` hook of a route whose metadata is `{M}`",
    label = "expected `async fn(metadata: Option<{M}>, error: uplift::UploadError, file_key: String)`",
    note = "the metadata is `None` when the upload's record could not be read back"
)]
pub trait ErrorHook<M, Marker = hook_marker::AsyncFn>: Send + Sync + 'static {
    /// Runs the hook for one failed upload (`file_key` is its storage key).
    fn call(&self, meta: Option<M>, error: UploadError, file_key: String) -> LocalBoxFuture<()>;
}

impl<F, Fut, M> ErrorHook<M, hook_marker::AsyncFn> for F
where
    F: Fn(Option<M>, UploadError, String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + 'static,
{
    fn call(&self, meta: Option<M>, error: UploadError, file_key: String) -> LocalBoxFuture<()> {
        Box::pin(self(meta, error, file_key))
    }
}

impl<F: hook_marker::Never + Send + Sync + 'static, M> ErrorHook<M, hook_marker::Unreachable>
    for F
{
    fn call(&self, _: Option<M>, _: UploadError, _: String) -> LocalBoxFuture<()> {
        unreachable!("hook_marker::Never has no impls")
    }
}

/// A function usable as `on_delete` for metadata `M`: runs once a file of the route was
/// deleted (its bytes and record are gone), so the app can clean up its own rows. `Marker`
/// is inferred; ignore it.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the `on_delete` hook of a route whose metadata is `{M}`",
    label = "expected `async fn(metadata: Option<{M}>, file: uplift::protocol::FileInfo)`",
    note = "the metadata is `None` when the recorded metadata no longer reads as `{M}`"
)]
pub trait DeleteHook<M, Marker = hook_marker::AsyncFn>: Send + Sync + 'static {
    /// Runs the hook for one deleted file.
    fn call(&self, meta: Option<M>, file: crate::protocol::FileInfo) -> LocalBoxFuture<()>;
}

impl<F, Fut, M> DeleteHook<M, hook_marker::AsyncFn> for F
where
    F: Fn(Option<M>, crate::protocol::FileInfo) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + 'static,
{
    fn call(&self, meta: Option<M>, file: crate::protocol::FileInfo) -> LocalBoxFuture<()> {
        Box::pin(self(meta, file))
    }
}

impl<F: hook_marker::Never + Send + Sync + 'static, M> DeleteHook<M, hook_marker::Unreachable>
    for F
{
    fn call(&self, _: Option<M>, _: crate::protocol::FileInfo) -> LocalBoxFuture<()> {
        unreachable!("hook_marker::Never has no impls")
    }
}

/// A type usable as a route's input: besides `Deserialize + Validate`, it describes itself to
/// the OpenAPI document (`schemars::JsonSchema`, which also reads the `#[validate]`
/// constraints) and to the generated TypeScript (`ts_rs::TS`). `Marker` is inferred; ignore it.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a file route's input: it must implement both `schemars::JsonSchema` and `ts_rs::TS`",
    label = "add `#[derive(schemars::JsonSchema, ts_rs::TS)]` to `{Self}`",
    note = "the input is described in the OpenAPI document (with its `#[validate]` constraints) and in the generated TypeScript: derive `Deserialize, Validate, JsonSchema, TS` (add `schemars = \"1\"` and `ts-rs = \"12\"` to your dependencies)"
)]
pub trait InputType<Marker = hook_marker::Derived>: 'static {
    /// The input type's JSON Schema and TypeScript, for codegen.
    fn descriptor() -> TypeDescriptor;
}

impl<T: JsonSchema + TS + 'static> InputType<hook_marker::Derived> for T {
    fn descriptor() -> TypeDescriptor {
        TypeDescriptor::of::<T>()
    }
}

impl<T: hook_marker::Never + 'static> InputType<hook_marker::Unreachable> for T {
    fn descriptor() -> TypeDescriptor {
        unreachable!("hook_marker::Never has no impls")
    }
}

/// A type usable as a route's server data (what `on_upload_complete` returns): besides
/// `Serialize`, it describes itself to the OpenAPI document (`schemars::JsonSchema`) and to the
/// generated TypeScript (`ts_rs::TS`). `Marker` is inferred; ignore it.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a file route's server data: it must implement both `schemars::JsonSchema` and `ts_rs::TS`",
    label = "this hook returns `{Self}`; add `#[derive(schemars::JsonSchema, ts_rs::TS)]` to it",
    note = "the server data is described in the OpenAPI document and in the generated TypeScript: derive `Serialize, JsonSchema, TS` (add `schemars = \"1\"` and `ts-rs = \"12\"` to your dependencies)"
)]
pub trait ServerDataType<Marker = hook_marker::Derived>: 'static {
    /// The server-data type's JSON Schema and TypeScript, for codegen.
    fn descriptor() -> TypeDescriptor;
}

impl<T: JsonSchema + TS + 'static> ServerDataType<hook_marker::Derived> for T {
    fn descriptor() -> TypeDescriptor {
        TypeDescriptor::of::<T>()
    }
}

impl<T: hook_marker::Never + 'static> ServerDataType<hook_marker::Unreachable> for T {
    fn descriptor() -> TypeDescriptor {
        unreachable!("hook_marker::Never has no impls")
    }
}

/// Step one of a route: its config. See the module docs.
pub struct RouteBuilder {
    config: RouteConfig,
}

/// Step two: the middleware is known, and with it the input and metadata types.
pub struct WithMiddleware<I, M> {
    config: RouteConfig,
    input: TypeDescriptor,
    input_schema: Arc<Value>,
    parse_input: Arc<ParseInput>,
    middleware: Arc<Middleware>,
    _types: PhantomData<fn() -> (I, M)>,
}

/// Step three: the completion hook is known, and with it the server-data type.
pub struct WithHooks<I, M, S> {
    inner: WithMiddleware<I, M>,
    server_data: TypeDescriptor,
    complete: Arc<Complete>,
    on_error: Option<Arc<OnError>>,
    on_delete: Option<Arc<OnDelete>>,
    _types: PhantomData<fn() -> S>,
}

impl RouteBuilder {
    /// Starts a route from its config.
    pub fn new(config: RouteConfig) -> Self {
        RouteBuilder { config }
    }

    /// The middleware, adapted by the macro to take owned files and hand them back.
    pub fn middleware<I, M, F, Fut, X>(self, f: F) -> WithMiddleware<I, M>
    where
        I: DeserializeOwned + Validate + InputType<X>,
        M: Serialize + DeserializeOwned + 'static,
        F: Fn(HttpRequest, I, PendingFiles) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(M, PendingFiles), UploadError>> + 'static,
    {
        let parse_input: Arc<ParseInput> = Arc::new(|raw: Value| {
            let raw = if raw.is_null() {
                Value::Object(Default::default())
            } else {
                raw
            };
            let input: I = serde_json::from_value(raw).map_err(|e| {
                // serde's text quotes values and unknown keys; a missing field names only the
                // route's own field.
                let e = e.to_string();
                let message = match e.strip_prefix("missing field `") {
                    Some(rest) if !rest.contains('"') => format!(
                        "input does not match the route's input type: missing field `{rest}"
                    ),
                    _ => "input does not match the route's input type".to_string(),
                };
                UploadError::new(ErrorCode::InvalidInput, message)
            })?;
            input.validate().map_err(|e| validation_errors(&e))?;
            Ok(Box::new(input) as Box<dyn Any>)
        });
        let middleware: Arc<Middleware> = Arc::new(move |req, input: Box<dyn Any>, files| {
            let input = *input
                .downcast::<I>()
                .expect("uplift: input parsed by the same route");
            let fut = f(req, input, files);
            Box::pin(async move {
                let (meta, files) = fut.await?;
                let meta = serde_json::to_value(meta).map_err(UploadError::internal)?;
                Ok((meta, files))
            })
        });
        let input = I::descriptor();
        let input_schema = Arc::new(input.standalone_json_schema());
        WithMiddleware {
            config: self.config,
            input,
            input_schema,
            parse_input,
            middleware,
            _types: PhantomData,
        }
    }
}

impl<I: 'static, M: DeserializeOwned + 'static> WithMiddleware<I, M> {
    /// The completion hook; its return type becomes the route's server data.
    pub fn on_upload_complete<H: CompletionHook<M, X>, X, Y>(
        self,
        hook: H,
    ) -> WithHooks<I, M, H::ServerData>
    where
        H::ServerData: ServerDataType<Y>,
    {
        let hook = Arc::new(hook);
        let complete: Arc<Complete> = Arc::new(move |meta: Value, file: UploadedFile| {
            let hook = Arc::clone(&hook);
            Box::pin(async move {
                let meta: M = serde_json::from_value(meta).map_err(UploadError::internal)?;
                let data = hook.call(meta, file).await?;
                serde_json::to_value(data).map_err(UploadError::internal)
            })
        });
        let server_data = <H::ServerData as ServerDataType<Y>>::descriptor();
        WithHooks {
            inner: self,
            server_data,
            complete,
            on_error: None,
            on_delete: None,
            _types: PhantomData,
        }
    }
}

impl<I: 'static, M: DeserializeOwned + 'static, S> WithHooks<I, M, S> {
    /// Called for every failure after preparation, including a failing completion hook.
    pub fn on_upload_error<E: ErrorHook<M, X>, X>(mut self, hook: E) -> Self {
        let hook = Arc::new(hook);
        self.on_error = Some(Arc::new(move |meta: Option<Value>, error, key| {
            let meta = meta.and_then(|m| serde_json::from_value::<M>(m).ok());
            hook.call(meta, error, key)
        }));
        self
    }

    /// Called once for every deleted file of the route ([`crate::Files::delete`], or
    /// `DELETE {base}/files/{key}`), after its bytes and record are gone.
    pub fn on_delete<D: DeleteHook<M, X>, X>(mut self, hook: D) -> Self {
        let hook = Arc::new(hook);
        self.on_delete = Some(Arc::new(move |meta: Option<Value>, file| {
            let meta = meta.and_then(|m| serde_json::from_value::<M>(m).ok());
            hook.call(meta, file)
        }));
        self
    }

    /// The finished route, as `uplift::router![...]` collects it.
    pub fn build(self) -> Route {
        Route {
            config: self.inner.config,
            input: self.inner.input,
            server_data: self.server_data,
            input_schema: self.inner.input_schema,
            parse_input: self.inner.parse_input,
            middleware: self.inner.middleware,
            complete: self.complete,
            on_error: self.on_error,
            on_delete: self.on_delete,
        }
    }
}

/// Used by the macro: turns the middleware's `Result<M, E>` into `Result<M, UploadError>`.
pub fn middleware_output<R: MiddlewareOutput>(r: R) -> Result<R::Metadata, UploadError> {
    r.into_result()
}

impl RouteInfo {
    /// The route as `GET {base}` describes it.
    pub fn of(route: &Route) -> Self {
        let c = route.config();
        RouteInfo {
            slug: c.slug.to_string(),
            types: c
                .types
                .iter()
                .map(|r| crate::protocol::FileTypeConfig {
                    file_type: r.file_type.as_str().to_string(),
                    mime: r.file_type.pattern().to_string(),
                    max_file_size: r.max_file_size,
                    max_file_count: r.max_file_count,
                    min_file_count: r.min_file_count,
                    content_disposition: r.content_disposition,
                    acl: r.acl,
                })
                .collect(),
            await_server_data: c.await_server_data,
            max_total_file_count: c.max_total_file_count,
            max_total_size: c.max_total_size,
            input_schema: route.input_schema().clone(),
        }
    }
}
