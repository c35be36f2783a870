//! The server's layers stay visible: each top-level module of `server/src` uses only modules of
//! its own layer or below (docs/architecture.md), and no set of modules depends on itself in a
//! circle. Read from the source text: `crate::<module>` paths outside comments and tests.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Bottom up. A module may use the modules of its own layer and of the layers below.
const LAYERS: &[&[&str]] = &[
    // domain: no shared state
    &[
        "error",
        "route",
        "sanitize",
        "describe",
        "group_sync",
        "storage",
        "signing",
        "form",
    ],
    &[
        "protocol",
        "definition",
        "router",
        "db",
        "ingest",
        "serving",
        "token",
        "codegen",
    ],
    // the state that ties the domain together
    &["state"],
    // the pipeline, and the signed-object and file-management facades beside it
    &["pipeline", "objects", "files"],
    // front ends
    &["endpoints"],
    // the HTTP scope
    &["http"],
    // the app handle and the client
    &["app", "client"],
];

fn layer_of(module: &str) -> usize {
    LAYERS
        .iter()
        .position(|l| l.contains(&module))
        .unwrap_or_else(|| panic!("module `{module}` is in no layer: add it to LAYERS"))
}

/// `module -> modules it uses`, from every file under `src/`.
fn dependencies() -> BTreeMap<String, BTreeSet<String>> {
    fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&src, &mut files);
    let mut deps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in files {
        let rel = f.strip_prefix(&src).unwrap().to_string_lossy().into_owned();
        let top = rel
            .split('/')
            .next()
            .unwrap()
            .trim_end_matches(".rs")
            .to_string();
        if top == "lib" {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap();
        let entry = deps.entry(top.clone()).or_default();
        for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
            for (i, _) in line.match_indices("crate::") {
                let used: String = line[i + 7..]
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect();
                if !used.is_empty() && used != top {
                    entry.insert(used);
                }
            }
        }
    }
    let known: BTreeSet<String> = deps.keys().cloned().collect();
    for d in deps.values_mut() {
        d.retain(|m| known.contains(m));
    }
    deps
}

#[test]
fn every_module_uses_only_its_layer_and_below() {
    let mut upward = Vec::new();
    for (module, used) in dependencies() {
        for u in used {
            if layer_of(&u) > layer_of(&module) {
                upward.push(format!("{module} -> {u}"));
            }
        }
    }
    assert!(upward.is_empty(), "uses of a higher layer: {upward:?}");
}

#[test]
fn no_modules_depend_on_each_other_in_a_circle() {
    let deps = dependencies();
    // Depth-first search for a back edge.
    fn visit(
        m: &str,
        deps: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == m) {
            return Some(path[at..].to_vec());
        }
        if done.contains(m) {
            return None;
        }
        path.push(m.to_string());
        for d in &deps[m] {
            if let Some(c) = visit(d, deps, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(m.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for m in deps.keys() {
        let cycle = visit(m, &deps, &mut Vec::new(), &mut done);
        assert!(cycle.is_none(), "a circle of modules: {cycle:?}");
    }
}
