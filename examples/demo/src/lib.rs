//! The Uplift demo as a library: its file routes, page and settings, used by the `uplift-demo`
//! binary, by `cargo xtask codegen` (through `uplift-demo codegen DIR [CLIENT_DIR]`) and by the
//! tests.

pub mod activity;
pub mod auth;
pub mod page;
pub mod routes;
pub mod settings;
pub mod signed;

use std::path::{Path, PathBuf};

/// Where the demo mounts its file routes (Uplift's default).
pub const BASE_PATH: &str = "/api/uploads";

/// The checked-in output of `cargo xtask codegen`: `generated/` at the workspace root.
pub fn generated_dir() -> PathBuf {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let workspace = demo
        .parent()
        .and_then(Path::parent)
        .expect("examples/demo is two levels down");
    workspace.join("generated")
}

/// Writes the demo's `openapi.json` and `ts/*.ts` into `dir`; returns the files' paths.
pub fn codegen(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    uplift::codegen::write(&routes::router(), BASE_PATH, dir)
}

/// The TypeScript client's checked-in copy of the wire types: `client-ts/src/generated/` at
/// the workspace root (written by `cargo xtask codegen` along with [`generated_dir`]).
pub fn client_generated_dir() -> PathBuf {
    generated_dir()
        .parent()
        .expect("generated/ is in the workspace")
        .join("client-ts/src/generated")
}

/// Writes the client's `protocol.ts` into `dir`; returns the files' paths.
pub fn codegen_client(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    uplift::codegen::write_client(dir)
}
