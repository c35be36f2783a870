//! `cargo xtask codegen`: writes the demo app's OpenAPI document and TypeScript types into
//! `generated/` (`openapi.json`, `ts/protocol.ts`, `ts/router.ts`), and the TypeScript client's
//! own copy of the wire types into `client-ts/src/generated/` (`protocol.ts`), through the demo
//! binary's `codegen DIR CLIENT_DIR` subcommand, so xtask itself does not build the runtime.
//! Files the code no longer produces are removed. `examples/demo/tests/generated.rs` fails when
//! either folder is stale.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::cargo;

pub fn run(args: &[String]) -> Result<(), String> {
    if !args.is_empty() {
        return Err("usage: cargo xtask codegen".into());
    }
    let root = crate::workspace_root();
    let root = root.as_path();
    let out = root.join("generated");
    let client_out = root.join("client-ts/src/generated");
    let mut cmd = cargo();
    cmd.args(["run", "--quiet", "-p", "uplift-demo", "--", "codegen"])
        .arg(&out)
        .arg(&client_out);
    eprintln!("$ {cmd:?}");
    let output = cmd
        .output()
        .map_err(|e| format!("could not start {cmd:?}: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "{cmd:?} failed with {}:\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let written: Vec<PathBuf> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(PathBuf::from)
        .collect();
    let written_set: HashSet<PathBuf> = written.iter().cloned().collect();
    let mut removed = Vec::new();
    // Both folders hold nothing but codegen's output.
    remove_others(&out.join("ts"), &written_set, &mut removed)?;
    remove_others(&client_out, &written_set, &mut removed)?;
    for path in &written {
        println!("wrote {}", shown(root, path));
    }
    for path in &removed {
        println!("removed {}", shown(root, path));
    }
    Ok(())
}

/// Deletes the files under `dir` that codegen did not write (a type or route that is gone).
fn remove_others(
    dir: &Path,
    written: &HashSet<PathBuf>,
    removed: &mut Vec<PathBuf>,
) -> Result<(), String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            remove_others(&path, written, removed)?;
        } else if !written.contains(&path) {
            std::fs::remove_file(&path)
                .map_err(|e| format!("could not remove {}: {e}", path.display()))?;
            removed.push(path);
        }
    }
    Ok(())
}

fn shown(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}
