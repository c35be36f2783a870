//! The front ends: one module per URL, each a thin translation between HTTP and the
//! [`pipeline`](crate::pipeline). [`crate::http`] mounts them.

pub(crate) mod direct_multipart;
pub(crate) mod docs;
pub(crate) mod download;
pub(crate) mod files;
pub(crate) mod multipart;
pub(crate) mod objects;
pub(crate) mod prepare;
pub(crate) mod routes;
pub(crate) mod tus;
pub(crate) mod upload;
pub(crate) mod uploadthing;
