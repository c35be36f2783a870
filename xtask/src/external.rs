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

/// How many examples schemathesis generates per operation and phase, and its seed: a fixed
/// seed makes a failure reproducible with the same command.
const SCHEMATHESIS_EXAMPLES: &str = "25";
const SCHEMATHESIS_SEED: &str = "20240601";
/// The whole schemathesis run is bounded (it is killed past this); it takes about a minute
/// on two cores.
const SCHEMATHESIS_MAX_SECS: u64 = 240;
const DEMO_READY_SECS: u64 = 60;

/// Schemathesis against the real demo server: builds and starts it on a free port of
/// 127.0.0.1 with a temp data dir, then runs every check of schemathesis on every operation of
/// its `/api/uploads/openapi.json` (exceptions and their reasons in `tools/schemathesis.toml`),
/// signed in as the demo's middleware expects (`x-user`).
pub fn check_api_contract() -> Result<(), String> {
    let root = root();
    let venv = python_venv()?;
    let demo = build_demo()?;
    let dir = tempfile::Builder::new()
        .prefix("uplift-schemathesis-")
        .tempdir()
        .map_err(|e| e.to_string())?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("no free port: {e}"))?
        .port();
    let log_path = dir.path().join("demo.log");
    let log = std::fs::File::create(&log_path).map_err(|e| e.to_string())?;
    // A throwaway demo: a fixed secret is enough.
    let secret = "schemathesis-".repeat(4);
    let mut child = Command::new(&demo)
        .current_dir(dir.path())
        .env("UPLIFT_DATA_DIR", dir.path().join("data"))
        .env("UPLIFT_BIND", format!("127.0.0.1:{port}"))
        .env("UPLIFT_SECRET", secret)
        .env("DATABASE_URL", "")
        .env("UPLIFT_S3_ENDPOINT", "")
        .env("UPLIFT_PUBLIC_URL", "")
        .env("UPLIFT_CORS_ORIGINS", "")
        .env(
            "RUST_LOG",
            std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log)
        .spawn()
        .map_err(|e| format!("could not start {}: {e}", demo.display()))?;
    let result = wait_ready(port, &mut child).and_then(|()| {
        let mut st = Command::new(venv.join("bin/schemathesis"));
        // Its cache (`.schemathesis/`) goes to the temp dir, not the clone.
        st.current_dir(dir.path())
            .env(
                "SCHEMATHESIS_HOOKS",
                root.join("tools/schemathesis_hooks.py"),
            )
            .args(["--no-color", "--config-file"])
            .arg(root.join("tools/schemathesis.toml"))
            .arg("run")
            .arg(format!("http://127.0.0.1:{port}/api/uploads/openapi.json"))
            .args(["--checks", "all"])
            .args(["--seed", SCHEMATHESIS_SEED])
            .args(["--max-examples", SCHEMATHESIS_EXAMPLES])
            .args(["--request-timeout", "10"])
            .args(["--header", "x-user: schemathesis"])
            .args(["--generation-database", "none"]);
        run_bounded(&mut st, SCHEMATHESIS_MAX_SECS)
    });
    let _ = child.kill();
    let _ = child.wait();
    if result.is_err() {
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(40).collect();
        eprintln!("--- the demo's log (last lines) ---");
        for line in tail.iter().rev() {
            eprintln!("{line}");
        }
    } else {
        println!("schemathesis: every check passed against the demo's OpenAPI document");
    }
    result
}

/// Runs `cmd`, killing it after `secs` seconds.
fn run_bounded(cmd: &mut Command, secs: u64) -> Result<(), String> {
    use std::time::{Duration, Instant};
    eprintln!("$ {cmd:?}");
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("could not start {cmd:?}: {e}"))?;
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        match child.try_wait().map_err(|e| e.to_string())? {
            Some(status) if status.success() => return Ok(()),
            Some(status) => return Err(format!("{cmd:?} failed with {status}")),
            None if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{cmd:?} took longer than {secs} s"));
            }
            None => std::thread::sleep(Duration::from_millis(200)),
        }
    }
}

/// `cargo build -p uplift-demo`, and its executable from cargo's own JSON messages.
fn build_demo() -> Result<PathBuf, String> {
    let out = crate::cargo()
        .current_dir(root())
        .args([
            "build",
            "-p",
            "uplift-demo",
            "--message-format=json-render-diagnostics",
        ])
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("could not run cargo build: {e}"))?;
    if !out.status.success() {
        return Err("cargo build -p uplift-demo failed".into());
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "uplift-demo")
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .ok_or_else(|| "cargo built uplift-demo but named no executable".into())
}

/// Polls `GET /api/uploads` until the demo answers 200, for at most `DEMO_READY_SECS`.
fn wait_ready(port: u16, child: &mut std::process::Child) -> Result<(), String> {
    use std::io::{Read, Write};
    use std::time::{Duration, Instant};
    let deadline = Instant::now() + Duration::from_secs(DEMO_READY_SECS);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("the demo exited with {status} while starting"));
        }
        let answered = std::net::TcpStream::connect(("127.0.0.1", port)).and_then(|mut s| {
            s.set_read_timeout(Some(Duration::from_secs(2)))?;
            s.write_all(
                b"GET /api/uploads HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
            )?;
            let mut head = [0u8; 12];
            s.read_exact(&mut head)?;
            Ok(head.starts_with(b"HTTP/1.1 200"))
        });
        if answered.unwrap_or(false) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!(
        "the demo did not answer within {DEMO_READY_SECS} s"
    ))
}
