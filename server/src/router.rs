//! A collection of file routes, looked up by slug.

use std::sync::Arc;

use crate::definition::Route;

/// Path segments taken by the fixed endpoints; no route may use them as its slug.
pub const RESERVED_SLUGS: &[&str] = &["files", "upload", "download", "docs", "tus", "objects"];

/// The file routes of an app. Build it with [`crate::router!`].
#[derive(Debug, Clone, Default)]
pub struct Router {
    routes: Vec<Arc<Route>>,
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

    /// The routes, in the order they were added.
    pub fn routes(&self) -> &[Arc<Route>] {
        &self.routes
    }

    /// The route with this slug, if any.
    pub fn get(&self, slug: &str) -> Option<&Arc<Route>> {
        self.routes.iter().find(|r| r.slug() == slug)
    }

    /// The OpenAPI 3.1 document of these routes mounted at `base_path` (`"/api/uploads"` by
    /// default): every endpoint, and per route its own operations with its input and
    /// server-data schemas. Merge it into an app's own document with [`utoipa::openapi::OpenApi::merge`].
    pub fn openapi(&self, base_path: &str) -> utoipa::openapi::OpenApi {
        crate::codegen::openapi::openapi(self, base_path)
    }

    /// [`Router::openapi`] as pretty JSON with sorted keys: stable bytes, as served at
    /// `{base}/openapi.json` and written to `openapi.json` by codegen.
    pub fn openapi_json(&self, base_path: &str) -> String {
        crate::codegen::openapi::openapi_json(self, base_path)
    }

    /// The TypeScript files: `protocol.ts` (every wire DTO) and `router.ts` (these routes'
    /// types, the `UploadRouter` type and the `routeConfig` constant).
    ///
    /// # Panics
    /// When two different types of the routes share a TypeScript name.
    pub fn typescript(&self) -> Vec<crate::GeneratedFile> {
        crate::codegen::typescript::files(self)
    }

    /// Writes [`Router::typescript`]'s files into `dir` (created if needed).
    pub fn write_typescript(&self, dir: impl AsRef<std::path::Path>) -> std::io::Result<()> {
        for f in self.typescript() {
            f.write_under(dir.as_ref())?;
        }
        Ok(())
    }
}
