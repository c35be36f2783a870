//! The published shape of the Rust crates: `cargo package` of `uplift-macros` and `uplift`,
//! unpacked into a temp dir outside the repository and used from a scratch binary project there
//! (`xtask/package-check/main.rs`) that
//!
//! - depends on the unpacked `uplift` by path, with `[patch.crates-io]` pointing
//!   `uplift-macros` at the unpacked macro crate (the packaged `uplift` names it by version, as
//!   it will on crates.io);
//! - declares a file route with `#[uplift::file_route(...)]` and `uplift::router![...]`, builds
//!   an `Uplift` with `LocalStorage` and SQLite records in a temp dir (which runs the embedded
//!   migrations: the package must hold `migrations/`);
//! - prints the route's config and the OpenAPI title, which this check compares.
//!
//! `cargo package --no-verify`: the scratch build compiles both packages from their archives,
//! which is what verification does, so they are compiled once rather than twice. `--allow-dirty`:
//! the check runs on the working tree as it is (uncommitted edits included), like every other
//! step of `cargo xtask test`; without it the suite could only run on a clean checkout.
//!
//! The scratch project gets a copy of the workspace `Cargo.lock` and builds into the
//! workspace's target dir, so its dependencies are the already-built ones. Every step is
//! bounded in time.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `cargo package` only copies files and resolves a lock file.
const PACKAGE_TIMEOUT: Duration = Duration::from_secs(300);
/// The scratch build compiles `uplift` and `uplift-macros` from the archives (and, the first
/// time, whatever dependency builds the workspace's feature set does not share).
const RUN_TIMEOUT: Duration = Duration::from_secs(1200);

/// The packages, in dependency order.
const CRATES: [&str; 2] = ["uplift-macros", "uplift"];

/// What the scratch program must print (each on its own line).
const EXPECTED: [&str; 5] = [
    "slug=profilePicture",
    "types=image:2097152:1:1",
    "await_server_data=false",
    "openapi_title=Uplift file uploads",
    "records=Sqlite",
];

pub fn check_crate_packages() -> Result<(), String> {
    let root = crate::workspace_root();
    let version = workspace_version(&root)?;
    let scratch = tempfile::Builder::new()
        .prefix("uplift-package-check-")
        .tempdir()
        .map_err(|e| format!("could not create a temp dir: {e}"))?;
    let pkg_target = scratch.path().join("package-target");
    let crates = scratch.path().join("crates");
    let app = scratch.path().join("app");
    let data = scratch.path().join("data");
    for dir in [&crates, &app.join("src"), &data] {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }

    // `cargo package` of both at once: `uplift` needs `uplift-macros` at its version, which
    // cargo serves from a temporary local registry holding the other package.
    let mut package = crate::cargo();
    package
        .current_dir(&root)
        .args(["package", "--no-verify", "--allow-dirty"])
        .args(CRATES.iter().flat_map(|c| ["-p", c]))
        .arg("--target-dir")
        .arg(&pkg_target);
    run_bounded(&mut package, PACKAGE_TIMEOUT, false)?;

    let mut unpacked = Vec::new();
    for name in CRATES {
        let archive = pkg_target
            .join("package")
            .join(format!("{name}-{version}.crate"));
        if !archive.is_file() {
            return Err(format!("cargo package left no {}", archive.display()));
        }
        run_bounded(
            Command::new("tar")
                .arg("-xzf")
                .arg(&archive)
                .arg("-C")
                .arg(&crates),
            PACKAGE_TIMEOUT,
            false,
        )?;
        unpacked.push(crates.join(format!("{name}-{version}")));
    }
    let [macros_dir, uplift_dir] = [&unpacked[0], &unpacked[1]];
    for needed in ["migrations/sqlite", "migrations/postgres", "README.md"] {
        if !uplift_dir.join(needed).exists() {
            return Err(format!("the uplift package has no {needed}"));
        }
    }
    if uplift_dir.join("tests").exists() {
        return Err("the uplift package holds tests/: `include` should leave them out".into());
    }

    write(
        &app.join("Cargo.toml"),
        &scratch_manifest(uplift_dir, macros_dir),
    )?;
    let main = root.join("xtask/package-check/main.rs");
    std::fs::copy(&main, app.join("src/main.rs"))
        .map_err(|e| format!("{}: {e}", main.display()))?;
    let lock = root.join("Cargo.lock");
    std::fs::copy(&lock, app.join("Cargo.lock")).map_err(|e| format!("{}: {e}", lock.display()))?;

    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let mut run = crate::cargo();
    run.current_dir(&app)
        .args(["run", "--quiet", "--manifest-path"])
        .arg(app.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir)
        .arg("--")
        .arg(&data);
    let output = run_bounded(&mut run, RUN_TIMEOUT, true)?;
    let lines: Vec<&str> = output.lines().collect();
    for expected in EXPECTED {
        if !lines.contains(&expected) {
            return Err(format!(
                "the scratch project did not print `{expected}`; it printed:\n{output}"
            ));
        }
    }
    if !data.join("records/uplift.db").is_file() {
        return Err("the scratch project left no SQLite database".into());
    }
    println!("crate packages: cargo package, unpack, and a scratch project using them passed");
    Ok(())
}

/// The scratch project's manifest: the unpacked packages by path, its own workspace (so no
/// directory above it can claim it), and the derives' crates as an app would add them.
fn scratch_manifest(uplift: &Path, macros: &Path) -> String {
    format!(
        r#"[package]
name = "uplift-package-check"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
uplift = {{ path = {uplift:?} }}
serde = {{ version = "1", features = ["derive"] }}
schemars = "1"
ts-rs = "12"
tokio = {{ version = "1", features = ["rt", "macros"] }}

[patch.crates-io]
uplift-macros = {{ path = {macros:?} }}

[workspace]
"#,
        uplift = uplift.display().to_string(),
        macros = macros.display().to_string(),
    )
}

/// `version = "…"` of `[workspace.package]`, which both crates inherit.
fn workspace_version(root: &Path) -> Result<String, String> {
    let manifest = root.join("Cargo.toml");
    let text =
        std::fs::read_to_string(&manifest).map_err(|e| format!("{}: {e}", manifest.display()))?;
    let section = text
        .split("[workspace.package]")
        .nth(1)
        .ok_or("no [workspace.package] in Cargo.toml")?;
    section
        .lines()
        .take_while(|l| !l.starts_with('['))
        .find_map(|l| {
            let value = l.trim().strip_prefix("version")?.trim().strip_prefix('=')?;
            Some(value.trim().trim_matches('"').to_string())
        })
        .ok_or_else(|| "no version in [workspace.package]".into())
}

fn write(path: &Path, contents: &str) -> Result<(), String> {
    std::fs::write(path, contents).map_err(|e| format!("{}: {e}", path.display()))
}

/// Runs `cmd`, killing it after `timeout`. With `capture`, its stdout is collected (and
/// returned) instead of shown; stderr always goes to the terminal.
fn run_bounded(cmd: &mut Command, timeout: Duration, capture: bool) -> Result<String, String> {
    eprintln!("$ {cmd:?}");
    if capture {
        cmd.stdout(Stdio::piped());
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("could not start {cmd:?}: {e}"))?;
    // Read stdout on a thread so a chatty child never blocks on a full pipe.
    let reader = child.stdout.take().map(|mut out| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = out.read_to_string(&mut s);
            s
        })
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{cmd:?} took longer than {} s", timeout.as_secs()));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(100)),
            Err(e) => return Err(format!("waiting for {cmd:?}: {e}")),
        }
    };
    let stdout = reader
        .map(|r| r.join().unwrap_or_default())
        .unwrap_or_default();
    if status.success() {
        Ok(stdout)
    } else {
        Err(format!("{cmd:?} failed with {status}\n{stdout}"))
    }
}
