//! The published shape of `@uplift/client`: `npm pack` of `client-ts` (its `prepack` builds
//! `dist/`), installed into a scratch Node ESM project outside the repository, where
//!
//! - `tsc` type-checks a file importing the package under `moduleResolution` `NodeNext` and
//!   `Bundler` (`xtask/pack-check/check.ts`), with the repository's pinned TypeScript;
//! - `node` runs a script importing it and calling pure functions, and a tus upload that must
//!   say tus-js-client (an optional peer, not installed there) is missing
//!   (`xtask/pack-check/run.mjs`).
//!
//! The package has no dependencies, so the install needs no registry. Every step is bounded in
//! time.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Each step's limit: `npm pack` runs `tsc` once; the rest is quicker.
const STEP_TIMEOUT: Duration = Duration::from_secs(180);

/// The files copied into the scratch project.
const FIXTURES: [&str; 5] = [
    "package.json",
    "check.ts",
    "run.mjs",
    "tsconfig.nodenext.json",
    "tsconfig.bundler.json",
];

pub fn check_client_package() -> Result<(), String> {
    let root = crate::workspace_root();
    let scratch = tempfile::Builder::new()
        .prefix("uplift-pack-check-")
        .tempdir()
        .map_err(|e| format!("could not create a temp dir: {e}"))?;
    let packs = scratch.path().join("pack");
    let app = scratch.path().join("app");
    for dir in [&packs, &app] {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }

    let tarball = pack(&root.join("client-ts"), &packs)?;
    for name in FIXTURES {
        let from = root.join("xtask/pack-check").join(name);
        std::fs::copy(&from, app.join(name)).map_err(|e| format!("{}: {e}", from.display()))?;
    }
    run_bounded(
        Command::new("npm")
            .current_dir(&app)
            .args(["install", "--no-audit", "--no-fund", "--no-package-lock"])
            .arg(&tarball),
    )?;
    let installed = app.join("node_modules/@uplift/client/dist/index.js");
    if !installed.exists() {
        return Err(format!(
            "the packed package has no {}: is `main`/`files` right?",
            installed.display()
        ));
    }
    if app.join("node_modules/tus-js-client").exists() {
        return Err(
            "installing @uplift/client pulled in tus-js-client: it should be an optional peer"
                .into(),
        );
    }
    let tsc = root.join("node_modules/.bin/tsc");
    for project in ["tsconfig.nodenext.json", "tsconfig.bundler.json"] {
        run_bounded(
            Command::new(&tsc)
                .current_dir(&app)
                .arg("--project")
                .arg(app.join(project)),
        )?;
    }
    run_bounded(Command::new("node").current_dir(&app).arg("run.mjs"))?;
    println!("client package: npm pack, install, tsc (NodeNext, Bundler) and node passed");
    Ok(())
}

/// `npm pack` of `package` into `dest`; the tarball's path.
fn pack(package: &Path, dest: &Path) -> Result<PathBuf, String> {
    let mut cmd = Command::new("npm");
    cmd.current_dir(package)
        .args(["pack", "--silent", "--pack-destination"])
        .arg(dest);
    run_bounded(&mut cmd)?;
    let tarballs: Vec<PathBuf> = std::fs::read_dir(dest)
        .map_err(|e| format!("{}: {e}", dest.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "tgz"))
        .collect();
    match tarballs.as_slice() {
        [one] => Ok(one.clone()),
        other => Err(format!(
            "npm pack left {} tarballs in {}",
            other.len(),
            dest.display()
        )),
    }
}

/// Runs `cmd` (output to the terminal), killing it after [`STEP_TIMEOUT`].
fn run_bounded(cmd: &mut Command) -> Result<(), String> {
    eprintln!("$ {cmd:?}");
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("could not start {cmd:?}: {e}"))?;
    let deadline = Instant::now() + STEP_TIMEOUT;
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => return Err(format!("{cmd:?} failed with {status}")),
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "{cmd:?} took longer than {} s",
                    STEP_TIMEOUT.as_secs()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(100)),
            Err(e) => return Err(format!("waiting for {cmd:?}: {e}")),
        }
    }
}
