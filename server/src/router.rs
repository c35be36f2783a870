//! A collection of file routes, looked up by slug.

use std::sync::Arc;

use crate::definition::Route;
use crate::error::UploadError;
use actix_web::HttpRequest;

/// Path segments taken by the fixed endpoints; no route may use them as its slug.
pub const RESERVED_SLUGS: &[&str] = &[
    "files",
    "upload",
    "download",
    "docs",
    "tus",
    "objects",
    "uploadthing",
];

/// Whose files a request may manage over HTTP: the app's answer for each request
/// ([`crate::Router::manage_files`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilesAccess {
    /// The files this caller uploaded: the identity [`crate::UpliftBuilder::caller`] names for
    /// the requests that uploaded them (a user id from the app's session).
    Owner(String),
    /// Every file (an administrator).
    All,
}

/// The app's decision, per request; an error refuses it (401 or 403 with its code).
pub(crate) type AccessFn =
    Arc<dyn Fn(&HttpRequest) -> Result<FilesAccess, UploadError> + Send + Sync>;

/// The file routes of an app. Build it with [`crate::router!`].
#[derive(Clone, Default)]
pub struct Router {
    routes: Vec<Arc<Route>>,
    /// Who may manage which files over HTTP; `None`: those endpoints are not mounted.
    files_access: Option<AccessFn>,
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Router")
            .field("routes", &self.routes)
            .field("manage_files", &self.files_access.is_some())
            .finish()
    }
}

impl Router {
    /// An empty router. [`router!`](crate::router!) builds one from route functions.
    pub fn new() -> Self {
        Router::default()
    }

    /// Adds a route.
    ///
    /// # Panics
    /// When another route already uses the same slug (two routes cannot share a URL), or the
    /// slug is one of the built-in endpoints (`files`, `upload`, `download`, `docs`, `tus`, `objects`).
    pub fn route(mut self, route: Route) -> Self {
        assert!(
            !RESERVED_SLUGS.contains(&route.slug()),
            "uplift: the slug `{}` is reserved for a built-in endpoint; set `slug = \"...\"` on the route",
            route.slug()
        );
        assert!(
            self.get(route.slug()).is_none(),
            "uplift: two file routes use the slug `{}`; rename one or set `slug = \"...\"`",
            route.slug()
        );
        self.routes.push(Arc::new(route));
        self
    }

    /// Lets the app's own users manage their files over HTTP: `GET {base}/files` (a listing),
    /// `PATCH` and `DELETE {base}/files/{key}` (rename, change the ACL, delete), described in
    /// the OpenAPI document and the generated TypeScript. `access` decides for each request
    /// whose files it may manage — [`FilesAccess::Owner`] (the files its caller uploaded) or
    /// [`FilesAccess::All`] — or refuses it with an error (its status and code). Without
    /// this call those endpoints are not mounted.
    pub fn manage_files(
        mut self,
        access: impl Fn(&actix_web::HttpRequest) -> Result<FilesAccess, UploadError>
            + Send
            + Sync
            + 'static,
    ) -> Self {
        self.files_access = Some(Arc::new(access));
        self
    }

    /// The app's decision of whose files a request may manage, when it manages files over HTTP.
    pub(crate) fn files_access(&self) -> Option<&AccessFn> {
        self.files_access.as_ref()
    }

    /// The routes, in the order they were added.
    pub fn routes(&self) -> &[Arc<Route>] {
        &self.routes
    }

    /// The route with this slug, if any.
    pub fn get(&self, slug: &str) -> Option<&Arc<Route>> {
        self.routes.iter().find(|r| r.slug() == slug)
    }
}
