//! Checks of `generated/` by third-party tools: the OpenAPI document by
//! `openapi-spec-validator` (PyPI), the TypeScript by `tsc --strict`, and a type-level
//! cross-check between what `openapi-typescript` derives from the OpenAPI document and what
//! ts-rs generated, so the two generators cannot drift apart.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::run;

fn root() -> PathBuf {
    crate::workspace_root()
}

fn npm() -> Command {
    let mut c = Command::new("npm");
    c.current_dir(root());
    c
}

fn npx(args: &[&str]) -> Command {
    let mut c = Command::new("npx");
    c.current_dir(root()).arg("--no-install").args(args);
    c
}

/// `npm ci` when node_modules is missing or older than the lock file.
pub fn ensure_node_modules() -> Result<(), String> {
    let root = root();
    let stamp = root.join("node_modules/.package-lock.json");
    let fresh = match (
        std::fs::metadata(&stamp),
        std::fs::metadata(root.join("package-lock.json")),
    ) {
        (Ok(s), Ok(l)) => s.modified().ok() >= l.modified().ok(),
        _ => false,
    };
    if fresh {
        return Ok(());
    }
    run(npm().args(["ci", "--no-audit", "--no-fund"]))
}

/// A venv outside the clone holding the pinned Python validators.
fn python_venv() -> Result<PathBuf, String> {
    let home = std::env::var("HOME").map_err(|_| "HOME is not set".to_string())?;
    let venv = PathBuf::from(home).join(".cache/uplift-venv");
    let requirements = root().join("tools/requirements.txt");
    let marker = venv.join("requirements.txt");
    let wanted = std::fs::read_to_string(&requirements)
        .map_err(|e| format!("{}: {e}", requirements.display()))?;
    if std::fs::read_to_string(&marker).ok().as_deref() != Some(wanted.as_str()) {
        run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
        run(Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
            .arg(&requirements))?;
        std::fs::write(&marker, wanted).map_err(|e| e.to_string())?;
    }
    Ok(venv)
}

/// `tsc --strict` over `generated/` (and the cross-check), once per module resolution.
const TYPECHECK_PROJECTS: [&str; 2] = [
    "typecheck/tsconfig.json",
    "typecheck/tsconfig.nodenext.json",
];

/// The OpenAPI document by a third-party validator, then `tsc --strict` over `generated/` with
/// the openapi-typescript cross-check.
pub fn check_generated() -> Result<(), String> {
    let root = root();
    let openapi = root.join("generated/openapi.json");
    if !openapi.exists() {
        return Err("generated/openapi.json is missing: run `cargo xtask codegen`".into());
    }
    let venv = python_venv()?;
    run(Command::new(venv.join("bin/openapi-spec-validator")).arg(&openapi))?;

    ensure_node_modules()?;
    let out = root.join("typecheck/.openapi");
    std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;
    run(&mut npx(&[
        "openapi-typescript",
        "generated/openapi.json",
        "--output",
        "typecheck/.openapi/openapi.d.ts",
    ]))?;
    // Under bundler resolution (Vite, esbuild, …) and under Node's own ESM resolution, which
    // wants file extensions on relative imports.
    for project in TYPECHECK_PROJECTS {
        run(&mut npx(&["tsc", "--project", project]))?;
    }
    println!("generated files: openapi-spec-validator and tsc --strict (Bundler, NodeNext) passed");
    Ok(())
}

/// The TypeScript client and the demo page: type checks (including the `@ts-expect-error`
/// type tests, under NodeNext and Bundler resolution), the packed package in a scratch project
/// (see [`crate::pack`]), vitest against a real demo server (with tus-js-client and tuspy against its tus
/// endpoints), then the Playwright test in Chromium.
pub fn check_typescript() -> Result<(), String> {
    ensure_node_modules()?;
    // The client's own sources and type tests under NodeNext and Bundler resolution.
    run(npm().args(["run", "typecheck", "--workspace=client-ts"]))?;
    // What `npm pack` publishes, installed into a scratch Node ESM project.
    crate::pack::check_client_package()?;
    run(npm().args(["run", "typecheck", "--workspace=examples/demo/web"]))?;
    // The tus tests run tuspy (PyPI) from the pinned venv.
    let venv = python_venv()?;
    run(npm()
        .args(["test", "--workspace=client-ts"])
        .env("UPLIFT_PYTHON", venv.join("bin/python")))?;
    let chromium = std::env::var("CHROMIUM_PATH").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !Path::new(&chromium).exists() {
        return Err(format!(
            "the browser test needs Chromium at {chromium}: `apt-get install -y chromium` (.ci/run does this)"
        ));
    }
    run(npm().args(["run", "test:e2e"]))
}
