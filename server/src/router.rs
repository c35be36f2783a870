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
}
