//! The demo's React page: built by Vite into `examples/demo/web/dist`, which the demo server
//! serves at `/`. `cargo xtask demo` rebuilds it when it is missing or older than anything it
//! is built from (its own sources, the client's sources, the generated router types, the lock
//! file).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use crate::run;

fn root() -> PathBuf {
    crate::workspace_root()
}

/// The newest modification time under `path` (a file or a directory, recursively), skipping
/// `node_modules`, `dist` and test artifacts.
fn newest(path: &Path) -> Option<SystemTime> {
    let meta = std::fs::metadata(path).ok()?;
    if meta.is_file() {
        return meta.modified().ok();
    }
    let mut best = None;
    for entry in std::fs::read_dir(path).ok()?.flatten() {
        let name = entry.file_name();
        if matches!(
            name.to_str(),
            Some("node_modules" | "dist" | "e2e" | "test" | ".vite")
        ) {
            continue;
        }
        best = best.max(newest(&entry.path()));
    }
    best
}

/// Why the page needs a build, or `None` when `dist` is newer than every source.
fn stale_reason(root: &Path) -> Option<String> {
    let web = root.join("examples/demo/web");
    let built = match std::fs::metadata(web.join("dist/index.html")).and_then(|m| m.modified()) {
        Ok(t) => t,
        Err(_) => return Some("examples/demo/web/dist is missing".into()),
    };
    let sources = [
        web.clone(),
        root.join("client-ts/src"),
        root.join("client-ts/package.json"),
        root.join("generated/ts"),
        root.join("package-lock.json"),
    ];
    sources.iter().find_map(|s| {
        (newest(s)? > built).then(|| format!("{} changed since the last build", s.display()))
    })
}

/// Builds the page if it is missing or stale: `npm ci` (when `node_modules` is older than the
/// lock file) and `vite build`. Without npm the demo still runs, with the plain page at `/`.
pub fn ensure_demo_page() -> Result<(), String> {
    let root = root();
    let Some(reason) = stale_reason(&root) else {
        eprintln!("xtask: the demo page is up to date (examples/demo/web/dist)");
        return Ok(());
    };
    if Command::new("npm").arg("--version").output().is_err() {
        eprintln!(
            "xtask: {reason}, and npm is not installed: the demo serves its plain HTML page at / \
             (install Node.js 20+ and npm to get the React page)"
        );
        return Ok(());
    }
    eprintln!("xtask: building the demo page: {reason}");
    crate::external::ensure_node_modules()?;
    run(Command::new("npm").current_dir(&root).args([
        "run",
        "build",
        "--workspace=examples/demo/web",
    ]))
}
