//! `cargo xtask <command>`: the project's own automation.
//!
//! - `cargo xtask test`  — everything CI checks: formatting, clippy, the whole test suite.
//! - `cargo xtask bench` — upload throughput and memory against a bare actix-web baseline.
//! - `cargo xtask bench-charts [DIR]` — SVG charts of the results (`bench/results/*.json`).
//! - `cargo xtask demo`  — runs the demo app (same as `cargo run -p uplift-demo`).
//! - `cargo xtask codegen` — regenerates `generated/` (OpenAPI document, TypeScript types) and
//!   the TypeScript client's copy of the wire types (`client-ts/src/generated/`).
//! - `cargo xtask pack-check` — `npm pack` of the client, installed and used in a scratch
//!   project (also part of `test`).
//! - `cargo xtask contract` — schemathesis against the demo's OpenAPI document (part of `test`).
//! - `cargo xtask package-check` — `cargo package` of `uplift-macros` and `uplift`, unpacked
//!   and used from a scratch Rust project (also part of `test`).

use std::process::{exit, Command};

mod bench;
mod bench_chart;
mod bench_load;
mod bench_s3;
mod codegen;
mod external;
mod pack;
mod package;
mod web;

/// The workspace this xtask runs for. `cargo run` sets `CARGO_MANIFEST_DIR` at run time too;
/// preferring it keeps a build cache shared by several checkouts from pointing at another one.
pub(crate) fn workspace_root() -> std::path::PathBuf {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into());
    manifest_dir
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rest = &args[args.len().min(1)..];
    let result = match args.first().map(String::as_str) {
        Some("test") => test(rest),
        Some("bench") => bench::run(rest),
        // SVG charts of `bench/results/*.json` (or of the JSON files of the given directory).
        Some("bench-charts") => bench_charts(rest),
        Some("codegen") => codegen::run(rest),
        // The packed client in a scratch project alone (also part of `test`).
        Some("pack-check") => {
            external::ensure_node_modules().and_then(|()| pack::check_client_package())
        }
        // Schemathesis against the demo alone (a step of `test`).
        Some("contract") => external::check_api_contract(),
        // The packaged crates in a scratch project alone (also part of `test`).
        Some("package-check") => package::check_crate_packages(),
        // Builds the React page first when it is missing or stale (needs npm; without it the
        // demo serves its plain page), then runs the demo server.
        Some("demo") => web::ensure_demo_page()
            .and_then(|()| run(cargo().args(["run", "-p", "uplift-demo"]).args(rest))),
        _ => {
            eprintln!(
                "usage: cargo xtask <test|bench|bench-charts|demo|codegen|pack-check|package-check|contract> [args]"
            );
            exit(2);
        }
    };
    if let Err(e) = result {
        eprintln!("xtask: {e}");
        exit(1);
    }
}

fn bench_charts(args: &[String]) -> Result<(), String> {
    let dir = match args {
        [] => workspace_root().join("bench/results"),
        [dir] => dir.into(),
        _ => return Err("usage: cargo xtask bench-charts [DIR]".into()),
    };
    for path in bench_chart::render_all(&dir)? {
        println!("{}", path.display());
    }
    Ok(())
}

pub(crate) fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

pub(crate) fn run(cmd: &mut Command) -> Result<(), String> {
    eprintln!("$ {cmd:?}");
    let status = cmd
        .status()
        .map_err(|e| format!("could not start {cmd:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?} failed with {status}"))
    }
}

/// The integration suites `cargo xtask test` runs a second time with `S3Storage` on the bucket
/// of `UPLIFT_S3_*` (`UPLIFT_TEST_STORAGE=s3`). The others check what differs on S3 by design
/// (docs/storage.md, "What differs on S3"): files on the local disk (the staging directory,
/// tus takeover copies), headers of served bytes (a download redirects to the bucket),
/// declared SHA-256s (those files go straight to the bucket), a file and a folder of one name,
/// and no-replace races on a store that ignores `If-None-Match`.
const S3_SUITES: &[&str] = &[
    "files_manage",
    "hardening_echo",
    "hardening_limits",
    "hardening_logs",
    "hardening_names",
    "hardening_oracle",
    "hardening_origin",
    "hardening_sniffing",
    "hardening_tus",
    "http_caller_limits",
    "http_cors",
    "http_hooks",
    "idle_body",
    "multipart_auth",
    "multipart_parser",
    "openapi_contract",
    "signed_client",
    "signed_manage",
    "signed_post",
    "signed_token",
    "status_token",
    "sweep_hooks",
    "sweep_lock",
    "tus_concat_unfinished",
    "tus_crash",
    "tus_protocol",
    "uploadthing",
];

/// Formatting, lints, every test of the workspace (unit, integration over HTTP on
/// 127.0.0.1, records on SQLite and PostgreSQL, trybuild UI tests, doctests), then the
/// packaged crates used from a scratch project, the checks of the generated files by tools
/// nobody here wrote, schemathesis against the demo's OpenAPI document, and the TypeScript
/// client's type tests, vitest suite and browser test.
fn test(extra: &[String]) -> Result<(), String> {
    run(cargo().args(["fmt", "--all", "--check"]))?;
    run(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    run(cargo()
        .args(["test", "--workspace", "--no-fail-fast"])
        .args(extra))?;
    // With a bucket: the route, signed-upload and hardening suites again, on S3.
    if std::env::var("UPLIFT_S3_ENDPOINT").is_ok_and(|v| !v.is_empty()) && extra.is_empty() {
        let mut cmd = cargo();
        cmd.args(["test", "--workspace", "--no-fail-fast"]);
        for suite in S3_SUITES {
            cmd.args(["--test", suite]);
        }
        run(cmd.env("UPLIFT_TEST_STORAGE", "s3"))?;
    }
    package::check_crate_packages()?;
    external::check_generated()?;
    external::check_api_contract()?;
    external::check_typescript()
}
