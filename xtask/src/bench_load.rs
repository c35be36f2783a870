//! `cargo xtask bench small|prepare|concurrent`: many uploads at once, every server driven by
//! the same load generator (`uplift-bench load`, bench/src/load.rs) in the same run.
//!
//! - `small`: 2,000 files of 64 KiB at 64 concurrent, through every way Uplift takes a file
//!   (one-shot multipart, prepare + signed PUT, tus creation-with-upload), through the tus
//!   peers (@tus/server, rustus) and through the bare actix-web baseline.
//! - `prepare`: 20,000 prepare requests at 64 connections, records in SQLite and in
//!   PostgreSQL (when it answers at `UPLIFT_BENCH_POSTGRES`, default
//!   `postgres://postgres@127.0.0.1:5432/test`).
//! - `concurrent`: 1,000 files of 1 MiB, all 1,000 at once, every path; peak RSS is the figure,
//!   so each target runs on a freshly started server (a process keeps the heap the previous
//!   target grew).
//!
//! Each round runs every target once, in an order that rotates between rounds, after the
//! stored files of the previous target are removed and `sync` has written back what the disk
//! still held. For each target the report gives the median over the rounds of operations per
//! second, its spread (min–max), latency percentiles, the server's CPU time per operation
//! (user + system, and user alone, all threads, from `/proc/PID/stat`) and its peak RSS
//! (VmHWM, reset before each target). With `--workers 1,2` it prints how each target's
//! throughput grows with the second worker. Missed targets are reported, never failed; an upload that errs is counted and
//! its first error shown.
//!
//! Results go to `bench/results/<scenario>.json` with the machine's state, and as SVG charts
//! beside them (`bench_chart.rs`).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

use crate::bench::{clock_ticks, cpu_split, loadavg, median, reset_peak_rss, rss_kib, Server};

/// See [`Scenario::connections`].
const CONNECTIONS_PER_WORKER: usize = 256;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Scenario {
    Small,
    Prepare,
    Concurrent,
}

impl Scenario {
    pub(crate) fn parse(s: &str) -> Option<Scenario> {
        match s {
            "small" => Some(Scenario::Small),
            "prepare" => Some(Scenario::Prepare),
            "concurrent" => Some(Scenario::Concurrent),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Scenario::Small => "small",
            Scenario::Prepare => "prepare",
            Scenario::Concurrent => "concurrent",
        }
    }

    /// (files, bytes each, concurrency)
    fn shape(self) -> (u64, u64, usize) {
        match self {
            Scenario::Small => (2_000, 64 * 1024, 64),
            Scenario::Prepare => (20_000, 64 * 1024, 64),
            Scenario::Concurrent => (1_000, 1024 * 1024, 1_000),
        }
    }

    /// Connections each actix-web server (Uplift, the baseline) serves at once per worker.
    /// actix-web reads ahead up to ~330 KiB of every open upload's body (its read buffer, see
    /// docs/benchmarks.md), so with 1,000 uploads at once the connections served, not the
    /// uploads, are what bound memory; the others wait in the listen backlog.
    fn connections(self) -> Option<usize> {
        match self {
            Scenario::Concurrent => Some(CONNECTIONS_PER_WORKER),
            _ => None,
        }
    }

    fn title(self) -> String {
        let (n, size, c) = self.shape();
        match self {
            Scenario::Prepare => format!("Prepare: {n} requests at {c} connections"),
            _ => format!(
                "{}: {n} uploads at {c} concurrent",
                if size >= 1024 * 1024 {
                    format!("{} MiB files", size / (1024 * 1024))
                } else {
                    format!("{} KiB files", size / 1024)
                }
            ),
        }
    }
}

/// Which process answers.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum ServerKind {
    UpliftSqlite,
    UpliftPostgres,
    TusNode,
    Rustus,
    Baseline,
}

impl ServerKind {
    fn family(self) -> &'static str {
        match self {
            ServerKind::UpliftSqlite | ServerKind::UpliftPostgres => "uplift",
            ServerKind::TusNode => "tus-node",
            ServerKind::Rustus => "rustus",
            ServerKind::Baseline => "baseline",
        }
    }
}

#[derive(Clone, Debug)]
struct Target {
    name: String,
    server: ServerKind,
    /// The load generator's `kind`.
    kind: &'static str,
    workers: usize,
    /// Connections each actix-web worker serves at once (`max_connections`); `None`:
    /// actix-web's default (25,000).
    connections: Option<usize>,
}

/// A running server of any kind, and where its stored files land.
struct Running {
    kind: ServerKind,
    workers: usize,
    pid: u32,
    origin: String,
    /// Where stored files are, to be counted and removed between targets.
    files_dir: PathBuf,
    connections: Option<usize>,
    _server: Option<Server>,
    _peer: Option<crate::bench::Peer>,
}

pub(crate) struct LoadArgs {
    pub(crate) runs: usize,
    pub(crate) workers: Vec<usize>,
    /// Overrides of the scenario's shape (for quick runs).
    pub(crate) count: Option<u64>,
}

pub(crate) fn run(scenario: Scenario, args: &LoadArgs) -> Result<(), String> {
    let exe = crate::bench::build_server()?;
    let tmp = tempfile::Builder::new()
        .prefix("uplift-bench-")
        .tempdir()
        .map_err(|e| format!("temporary directory: {e}"))?;
    let (default_count, size, concurrency) = scenario.shape();
    let count = args.count.unwrap_or(default_count);
    let postgres = postgres_url();

    let mut servers: Vec<Running> = Vec::new();
    let mut targets: Vec<Target> = Vec::new();
    for &workers in &args.workers {
        let w = |name: &str| {
            if args.workers.len() > 1 {
                format!("{name} ({workers}w)")
            } else {
                name.to_string()
            }
        };
        match scenario {
            Scenario::Prepare => {
                servers.push(start_uplift(&exe, tmp.path(), workers, None, None)?);
                targets.push(target(
                    &w("uplift prepare, SQLite"),
                    ServerKind::UpliftSqlite,
                    "prepare",
                    workers,
                ));
                match &postgres {
                    Some(url) => {
                        servers.push(start_uplift(&exe, tmp.path(), workers, Some(url), None)?);
                        targets.push(target(
                            &w("uplift prepare, PostgreSQL"),
                            ServerKind::UpliftPostgres,
                            "prepare",
                            workers,
                        ));
                    }
                    None => eprintln!("bench: PostgreSQL does not answer; its prepare is skipped"),
                }
            }
            Scenario::Small | Scenario::Concurrent => {
                let bound = scenario.connections();
                servers.push(start_uplift(&exe, tmp.path(), workers, None, bound)?);
                servers.push(start_baseline(&exe, tmp.path(), workers, bound)?);
                let named = |name: &str| match bound {
                    Some(c) => w(&format!("{name}, {c} conn/worker")),
                    None => w(name),
                };
                for (name, kind) in [
                    ("uplift multipart (one request)", "multipart"),
                    ("uplift prepare + PUT", "put"),
                    ("uplift tus creation-with-upload", "tus"),
                ] {
                    targets.push(
                        target(&named(name), ServerKind::UpliftSqlite, kind, workers)
                            .with_connections(bound),
                    );
                }
                if bound.is_some() {
                    // The same path with actix-web's default: what the bound is worth.
                    servers.push(start_uplift(&exe, tmp.path(), workers, None, None)?);
                    targets.push(target(
                        &w("uplift multipart, actix-web default connections"),
                        ServerKind::UpliftSqlite,
                        "multipart",
                        workers,
                    ));
                }
                targets.push(
                    target(
                        &named("baseline PUT (bare actix-web)"),
                        ServerKind::Baseline,
                        "baseline",
                        workers,
                    )
                    .with_connections(bound),
                );
                match start_rustus(tmp.path(), workers) {
                    Ok(r) => {
                        servers.push(r);
                        targets.push(target(
                            &w("rustus creation-with-upload"),
                            ServerKind::Rustus,
                            "tus",
                            workers,
                        ));
                    }
                    Err(e) => eprintln!("bench: rustus: {e}; skipped"),
                }
            }
        }
    }
    // Node runs one thread whatever the worker count: one instance.
    if scenario != Scenario::Prepare {
        match start_tus_node(tmp.path()) {
            Ok(r) => {
                servers.push(r);
                targets.push(target(
                    "@tus/server creation-with-upload",
                    ServerKind::TusNode,
                    "tus",
                    1,
                ));
            }
            Err(e) => eprintln!("bench: @tus/server: {e}; skipped"),
        }
    }

    let mut machine = machine_state();
    let load_before = loadavg();
    let ticks = clock_ticks();
    let mut rounds: Vec<Vec<Value>> = vec![Vec::new(); targets.len()];
    // Warm-up: connections, first records, lazily started threads; not measured.
    for t in &targets {
        let server = find(&servers, t)?;
        let _ = load(&exe, server, t, size, 64.min(count), concurrency.min(64))?;
    }
    let probes = tmp.path().join("create-probe");
    let (waited, settled_us) = wait_for_fast_creates(&probes.join("settle"));
    machine["fs_settle"] = json!({ "waited_s": waited, "create_us": settled_us });
    for round in 0..args.runs {
        for i in 0..targets.len() {
            let idx = (round + i) % targets.len();
            let t = &targets[idx];
            if scenario == Scenario::Concurrent {
                // A process keeps the heap its last target grew (the allocator does not give
                // it back): each target's peak memory is measured on a fresh server.
                let at = servers
                    .iter()
                    .position(|s| serves(s, t))
                    .ok_or_else(|| format!("no server for {}", t.name))?;
                // What the warm-up stored goes too: a fresh baseline numbers its files from 0
                // again, and would write over them.
                clean(&servers[at])?;
                drop(servers.remove(at));
                servers.push(fresh(&exe, tmp.path(), t)?);
            }
            let server = find(&servers, t)?;
            settle();
            let create_us = create_cost(&probes.join(format!("{round}-{i}")));
            let stored_before = count_stored(server);
            let hwm_reset = reset_peak_rss(server.pid);
            let cpu_before = cpu_split(server.pid);
            let mut result = load(&exe, server, t, size, count, concurrency)?;
            // Seconds of (user, system) CPU the server spent on this target.
            let cpu = match (cpu_before, cpu_split(server.pid)) {
                (Some(a), Some(b)) => Some((
                    b.0.saturating_sub(a.0) as f64 / ticks,
                    b.1.saturating_sub(a.1) as f64 / ticks,
                )),
                _ => None,
            };
            let peak = if hwm_reset {
                rss_kib(server.pid, "VmHWM:")
            } else {
                None
            };
            let ok = result["ok"].as_u64().unwrap_or(0);
            let stored = if t.kind == "prepare" {
                None
            } else {
                Some(count_stored(server).saturating_sub(stored_before))
            };
            let per_op = |secs: f64| json!(secs * 1000.0 / ok as f64);
            (result["cpu_ms_per_op"], result["user_cpu_ms_per_op"]) = match cpu {
                Some((user, system)) if ok > 0 => (per_op(user + system), per_op(user)),
                _ => (Value::Null, Value::Null),
            };
            result["peak_rss_kib"] = json!(peak);
            result["stored"] = json!(stored);
            result["fs_create_us"] = json!(create_us);
            eprintln!(
                "bench: round {}: {:<42} {:>8.0} {}  p99 {:>7.1} ms  CPU {} ms/op  peak RSS {}  create {}  errors {}{}",
                round + 1,
                t.name,
                result["per_s"].as_f64().unwrap_or(0.0),
                if t.kind == "prepare" { "req/s" } else { "files/s" },
                result["p99_ms"].as_f64().unwrap_or(f64::NAN),
                result["cpu_ms_per_op"].as_f64().map(|c| format!("{c:.2}")).unwrap_or("n/a".into()),
                crate::bench::fmt_kib(peak),
                create_us.map(|c| format!("{c:.0} µs")).unwrap_or("n/a".into()),
                result["errors"],
                match result["first_error"].as_str() {
                    Some(e) => format!(" (first: {e})"),
                    None => String::new(),
                }
            );
            if let Some(n) = stored {
                if n < ok {
                    return Err(format!(
                        "{}: {ok} uploads answered, but only {n} files are stored",
                        t.name
                    ));
                }
            }
            if scenario == Scenario::Concurrent {
                // 1 GiB per target and round: removed, to keep the disk's use bounded. The
                // other scenarios keep every file until the end: see `create_cost`.
                clean(server)?;
            }
            rounds[idx].push(result);
        }
    }
    let load_after = loadavg();
    drop(servers);

    let report = summarize(
        scenario,
        &targets,
        &rounds,
        args,
        count,
        machine,
        &load_before,
        &load_after,
    );
    print_table(&report);
    write_results(&report)
}

fn target(name: &str, server: ServerKind, kind: &'static str, workers: usize) -> Target {
    Target {
        name: name.to_string(),
        server,
        kind,
        workers,
        connections: None,
    }
}

impl Target {
    fn with_connections(mut self, connections: Option<usize>) -> Target {
        self.connections = connections;
        self
    }
}

fn find<'a>(servers: &'a [Running], t: &Target) -> Result<&'a Running, String> {
    servers
        .iter()
        .find(|s| serves(s, t))
        .ok_or_else(|| format!("no server for {}", t.name))
}

fn serves(s: &Running, t: &Target) -> bool {
    s.kind == t.server
        && s.connections == t.connections
        && (s.workers == t.workers || s.kind == ServerKind::TusNode)
}

/// A newly started server of `kind` (its data directory reused).
fn fresh(exe: &Path, tmp: &Path, t: &Target) -> Result<Running, String> {
    let (workers, connections) = (t.workers, t.connections);
    match t.server {
        ServerKind::UpliftSqlite => start_uplift(exe, tmp, workers, None, connections),
        ServerKind::UpliftPostgres => {
            let url = postgres_url().ok_or("PostgreSQL does not answer")?;
            start_uplift(exe, tmp, workers, Some(&url), connections)
        }
        ServerKind::Baseline => start_baseline(exe, tmp, workers, connections),
        ServerKind::Rustus => start_rustus(tmp, workers),
        ServerKind::TusNode => start_tus_node(tmp),
    }
}

/// Runs the load generator against `server` and returns what it measured.
fn load(
    exe: &Path,
    server: &Running,
    t: &Target,
    size: u64,
    count: u64,
    concurrency: usize,
) -> Result<Value, String> {
    let path = match (t.server, t.kind) {
        (ServerKind::TusNode | ServerKind::Rustus, _) => "/files".to_string(),
        (ServerKind::Baseline, _) => "/upload".to_string(),
        (_, "tus") => format!("/api/uploads/{}/tus", crate::bench::SLUG),
        _ => format!("/api/uploads/{}", crate::bench::SLUG),
    };
    let spec = json!({
        "kind": t.kind,
        "origin": server.origin,
        "path": path,
        "size": size,
        "count": count,
        "concurrency": concurrency,
        "max_seconds": 300.0,
    });
    let out = Command::new(exe)
        .arg("load")
        .arg(spec.to_string())
        .output()
        .map_err(|e| format!("could not start the load generator: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "the load generator failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("load generator output: {e}"))
}

/// Lets the disk finish what the last target left (its write-back would otherwise be billed to
/// the next one) and the CPU cool down for a moment.
fn settle() {
    let _ = Command::new("sync").status();
    std::thread::sleep(std::time::Duration::from_millis(500));
}

/// A creation cost below which the file system is taken as settled (this VM's quiet figure is
/// 13-46 µs; right after a mass removal it is 150-930).
const SETTLED_CREATE_US: f64 = 80.0;

/// Waits, at most two minutes, until creating a file costs less than [`SETTLED_CREATE_US`]:
/// ext4 without a journal stops skipping a freed inode a minute or so after it was freed, so
/// a run that starts right after another one's removals would otherwise bill them to its
/// first round. The seconds waited, and the last cost measured.
fn wait_for_fast_creates(dir: &Path) -> (f64, Option<f64>) {
    let start = std::time::Instant::now();
    let mut attempt = 0;
    loop {
        let cost = create_cost(&dir.join(attempt.to_string()));
        let waited = start.elapsed().as_secs_f64();
        match cost {
            Some(us) if us >= SETTLED_CREATE_US && waited < 120.0 => {
                if attempt == 0 {
                    eprintln!(
                        "bench: creating a file costs {us:.0} µs (recent removals); waiting for it to fall below {SETTLED_CREATE_US:.0} µs"
                    );
                }
                std::thread::sleep(std::time::Duration::from_secs(5));
                attempt += 1;
            }
            _ => return (waited, cost),
        }
    }
}

/// Microseconds to create one empty file, from 200 made in `dir` (kept until the run ends).
///
/// On the project's VM (ext4 without a journal) this moves between about 20 and 900 µs with
/// what the machine deleted in the last minutes: without a journal, ext4 will not hand out an
/// inode freed recently, and scans past each one on every create. It moves every server's
/// small-file figures with it, so each round records it; and the bench itself removes no
/// stored file between targets (except in `concurrent`), so that one target's removals are
/// not billed to the next.
fn create_cost(dir: &Path) -> Option<f64> {
    const FILES: u32 = 200;
    std::fs::create_dir_all(dir).ok()?;
    let start = std::time::Instant::now();
    for i in 0..FILES {
        std::fs::File::create_new(dir.join(i.to_string())).ok()?;
    }
    Some(start.elapsed().as_secs_f64() * 1e6 / f64::from(FILES))
}

/// Stored files: Uplift's under `files/` (not its dot-directories), a peer's data files (not
/// its `.json`/`.info` sidecars), the baseline's under its directory.
fn stored_files(server: &Running) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(&server.files_dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            !name.starts_with('.')
                && !name.ends_with(".json")
                && !name.ends_with(".info")
                && !name.starts_with("uplift.db")
        })
        .collect()
}

fn count_stored(server: &Running) -> u64 {
    stored_files(server).len() as u64
}

/// Removes the stored files (and a peer's sidecars), so every target starts with the same
/// directory sizes.
fn clean(server: &Running) -> Result<(), String> {
    let Ok(entries) = std::fs::read_dir(&server.files_dir) else {
        return Ok(());
    };
    for e in entries.filter_map(Result::ok) {
        let name = e.file_name();
        let name = name.to_str().unwrap_or("");
        if e.file_type().is_ok_and(|t| t.is_file()) && !name.starts_with("uplift.db") {
            std::fs::remove_file(e.path()).map_err(|err| format!("{name}: {err}"))?;
        }
    }
    if server.kind == ServerKind::UpliftSqlite || server.kind == ServerKind::UpliftPostgres {
        // tus uploads leave their parts under `.tus/` until swept; a bench has no sweeper.
        let tus = server.files_dir.join(".tus");
        if tus.exists() {
            let _ = std::fs::remove_dir_all(&tus);
            let _ = std::fs::create_dir_all(&tus);
        }
    }
    Ok(())
}

fn start_uplift(
    exe: &Path,
    tmp: &Path,
    workers: usize,
    db: Option<&str>,
    connections: Option<usize>,
) -> Result<Running, String> {
    let kind = if db.is_some() {
        ServerKind::UpliftPostgres
    } else {
        ServerKind::UpliftSqlite
    };
    let dir = tmp.join(format!(
        "uplift-{}-{workers}{}",
        if db.is_some() { "pg" } else { "sqlite" },
        connections.map(|c| format!("-c{c}")).unwrap_or_default()
    ));
    let mut extra = connection_args(connections);
    if let Some(url) = db {
        extra.extend(["--db".to_string(), url.to_string()]);
    }
    let server = Server::start_with(exe, "uplift", &dir, workers, &extra)?;
    Ok(Running {
        kind,
        workers,
        pid: server.pid,
        origin: server.origin.clone(),
        files_dir: dir.join("files"),
        connections,
        _server: Some(server),
        _peer: None,
    })
}

fn start_baseline(
    exe: &Path,
    tmp: &Path,
    workers: usize,
    connections: Option<usize>,
) -> Result<Running, String> {
    let dir = tmp.join(format!("baseline-{workers}"));
    let server = Server::start_with(
        exe,
        "baseline",
        &dir,
        workers,
        &connection_args(connections),
    )?;
    Ok(Running {
        kind: ServerKind::Baseline,
        workers,
        pid: server.pid,
        origin: server.origin.clone(),
        files_dir: dir,
        connections,
        _server: Some(server),
        _peer: None,
    })
}

fn connection_args(connections: Option<usize>) -> Vec<String> {
    match connections {
        Some(c) => vec!["--max-connections".into(), c.to_string()],
        None => Vec::new(),
    }
}

fn start_tus_node(tmp: &Path) -> Result<Running, String> {
    let dir = tmp.join("tus-node");
    let peer = crate::bench::start_tus_node(&dir)?;
    Ok(Running {
        kind: ServerKind::TusNode,
        workers: 1,
        pid: peer.pid(),
        origin: peer.origin.clone(),
        files_dir: dir,
        connections: None,
        _server: None,
        _peer: Some(peer),
    })
}

fn start_rustus(tmp: &Path, workers: usize) -> Result<Running, String> {
    let dir = tmp.join(format!("rustus-{workers}"));
    let peer = crate::bench::start_rustus(&dir, workers)?;
    Ok(Running {
        kind: ServerKind::Rustus,
        workers,
        pid: peer.pid(),
        origin: peer.origin.clone(),
        files_dir: dir,
        connections: None,
        _server: None,
        _peer: Some(peer),
    })
}

fn postgres_url() -> Option<String> {
    let url = std::env::var("UPLIFT_BENCH_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let answers = Command::new("pg_isready")
        .args(["-q", "-d", &url])
        .status()
        .is_ok_and(|s| s.success());
    answers.then_some(url)
}

/// What the machine was like: the figures mean little without it.
pub(crate) fn machine_state() -> Value {
    let read = |p: &str| {
        std::fs::read_to_string(p)
            .ok()
            .map(|s| s.trim().to_string())
    };
    let cpuinfo = read("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let meminfo = read("/proc/meminfo").unwrap_or_default();
    let mem_kib = |field: &str| -> Option<u64> {
        meminfo
            .lines()
            .find(|l| l.starts_with(field))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    };
    let kernel = Command::new("uname")
        .arg("-r")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let fs = Command::new("df")
        .arg("--output=fstype")
        .arg(std::env::temp_dir())
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .nth(1)
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_default();
    json!({
        "cpu": cpu,
        "cores": cores,
        "kernel": kernel,
        "memory_gib": mem_kib("MemTotal:").map(|k| (k as f64 / 1048576.0).round()),
        "governor": read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor").unwrap_or_else(|| "n/a (no cpufreq in this VM)".into()),
        "dirty_ratio": read("/proc/sys/vm/dirty_ratio"),
        "dirty_background_ratio": read("/proc/sys/vm/dirty_background_ratio"),
        "dirty_kib_at_start": mem_kib("Dirty:"),
        "filesystem": fs,
    })
}

#[allow(clippy::too_many_arguments)]
fn summarize(
    scenario: Scenario,
    targets: &[Target],
    rounds: &[Vec<Value>],
    args: &LoadArgs,
    count: u64,
    mut machine: Value,
    load_before: &str,
    load_after: &str,
) -> Value {
    machine["load_before"] = json!(load_before);
    machine["load_after"] = json!(load_after);
    let field = |r: &[Value], f: &str| -> Option<f64> {
        let v: Vec<f64> = r.iter().filter_map(|x| x[f].as_f64()).collect();
        (!v.is_empty()).then(|| median(&v))
    };
    let mut out_targets = Vec::new();
    for (t, r) in targets.iter().zip(rounds) {
        let per_s: Vec<f64> = r.iter().filter_map(|x| x["per_s"].as_f64()).collect();
        let peak = r.iter().filter_map(|x| x["peak_rss_kib"].as_u64()).max();
        out_targets.push(json!({
            "name": t.name,
            "server": t.server.family(),
            "workers": t.workers,
            "rounds": r.iter().map(|x| json!({
                "per_s": x["per_s"], "p50_ms": x["p50_ms"], "p90_ms": x["p90_ms"],
                "p99_ms": x["p99_ms"], "max_ms": x["max_ms"], "ok": x["ok"],
                "errors": x["errors"], "cpu_ms_per_op": x["cpu_ms_per_op"],
                "user_cpu_ms_per_op": x["user_cpu_ms_per_op"],
                "peak_rss_kib": x["peak_rss_kib"], "first_error": x["first_error"],
                "fs_create_us": x["fs_create_us"],
            })).collect::<Vec<_>>(),
            "median": {
                "per_s": field(r, "per_s"),
                "p50_ms": field(r, "p50_ms"),
                "p90_ms": field(r, "p90_ms"),
                "p99_ms": field(r, "p99_ms"),
                "max_ms": field(r, "max_ms"),
                "cpu_ms_per_op": field(r, "cpu_ms_per_op"),
                "user_cpu_ms_per_op": field(r, "user_cpu_ms_per_op"),
                "peak_rss_kib": peak,
            },
            "spread": {
                "min": per_s.iter().copied().reduce(f64::min),
                "max": per_s.iter().copied().reduce(f64::max),
            },
        }));
    }
    let ratios = ratios(scenario, &out_targets);
    let scaling = scaling(&out_targets);
    let (_, size, concurrency) = scenario.shape();
    json!({
        "scenario": scenario.name(),
        "title": scenario.title().replace(&scenario.shape().0.to_string(), &count.to_string()),
        "unit": if scenario == Scenario::Prepare { "req/s" } else { "files/s" },
        "date": utc_now(),
        "command": format!(
            "cargo xtask bench {} --runs {} --workers {}",
            scenario.name(),
            args.runs,
            args.workers.iter().map(|w| w.to_string()).collect::<Vec<_>>().join(",")
        ),
        "machine": machine,
        "rounds": args.runs,
        "file_bytes": if scenario == Scenario::Prepare { Value::Null } else { json!(size) },
        "concurrency": concurrency,
        "targets": out_targets,
        "ratios": ratios,
        "limits": limits(scenario, &out_targets),
        "scaling": scaling,
    })
}

/// How each server's throughput grows from one worker to more: for every target measured with
/// several worker counts, its median at each count over its median with the fewest.
fn scaling(targets: &[Value]) -> Vec<Value> {
    let base = |name: &str| match name.rsplit_once(" (") {
        Some((b, w)) if w.ends_with("w)") => b.to_string(),
        _ => name.to_string(),
    };
    let mut out = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for t in targets {
        let name = base(t["name"].as_str().unwrap_or(""));
        if seen.contains(&name) {
            continue;
        }
        let mut by_workers: Vec<(u64, f64)> = targets
            .iter()
            .filter(|u| base(u["name"].as_str().unwrap_or("")) == name)
            .filter_map(|u| Some((u["workers"].as_u64()?, u["median"]["per_s"].as_f64()?)))
            .collect();
        seen.push(name.clone());
        by_workers.sort_by_key(|&(w, _)| w);
        let Some(&(w0, v0)) = by_workers.first() else {
            continue;
        };
        if by_workers.len() < 2 || v0 <= 0.0 {
            continue;
        }
        out.push(json!({
            "target": name,
            "per_workers": by_workers.iter().map(|&(w, v)| json!({
                "workers": w, "per_s": v, "over_fewest": v / v0,
            })).collect::<Vec<_>>(),
            "fewest": w0,
        }));
    }
    out
}

/// The ratios the issue's targets are stated in, per round where both ran in it.
fn ratios(scenario: Scenario, targets: &[Value]) -> Vec<Value> {
    // A target's name, median and per-round figures.
    type Picked = (String, f64, Vec<f64>);
    let med = |name_start: &str, server: &str| -> Option<Picked> {
        targets
            .iter()
            .filter(|t| {
                t["server"] == server
                    && t["name"]
                        .as_str()
                        .is_some_and(|n| n.starts_with(name_start))
            })
            .filter(|t| t["workers"] == 1)
            .find_map(|t| {
                let rounds = t["rounds"].as_array()?;
                Some((
                    t["name"].as_str()?.to_string(),
                    t["median"]["per_s"].as_f64()?,
                    rounds.iter().filter_map(|r| r["per_s"].as_f64()).collect(),
                ))
            })
    };
    let mut out = Vec::new();
    // The ratio of the medians, and of each round's figures: the targets of one round ran
    // minutes apart, on a machine in much the same state.
    let mut ratio = |a: Option<Picked>, b: Option<Picked>, target: f64| {
        if let (Some((an, av, ar)), Some((bn, bv, br))) = (a, b) {
            let value = av / bv;
            let per_round: Vec<f64> = ar.iter().zip(&br).map(|(x, y)| x / y).collect();
            out.push(json!({
                "what": format!("{an} / {bn}"),
                "value": value,
                "per_round": per_round,
                "target": target,
                "met": value >= target,
                "met_every_round": !per_round.is_empty() && per_round.iter().all(|r| *r >= target),
            }));
        }
    };
    match scenario {
        Scenario::Small => {
            let peer = med("@tus/server", "tus-node");
            // The recommended path for small files: the fastest of Uplift's one-request ways.
            let best = ["uplift multipart", "uplift prepare"]
                .iter()
                .filter_map(|n| med(n, "uplift"))
                .max_by(|a, b| a.1.total_cmp(&b.1));
            ratio(best, peer.clone(), 1.5);
            ratio(med("uplift tus", "uplift"), peer, 1.0);
        }
        // Held to limits, not ratios: see `limits`.
        Scenario::Concurrent | Scenario::Prepare => {}
    }
    out
}

/// Most memory an Uplift server may hold with 1,000 uploads at once (the `concurrent`
/// scenario), with the connection bound, in its worst round and with no upload failing.
const CONCURRENT_RSS_MIB: f64 = 256.0;

/// The limits the issue's targets set on a scenario: for `concurrent`, each Uplift path served
/// with the connection bound holds at most [`CONCURRENT_RSS_MIB`] in every round, with no
/// error.
fn limits(scenario: Scenario, targets: &[Value]) -> Vec<Value> {
    if scenario != Scenario::Concurrent {
        return Vec::new();
    }
    targets
        .iter()
        .filter(|t| {
            t["server"] == "uplift"
                && t["name"]
                    .as_str()
                    .is_some_and(|n| n.ends_with("conn/worker"))
        })
        .map(|t| {
            let rounds = t["rounds"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default();
            // A round without its memory figure leaves the worst unknown: not met.
            let peaks: Option<Vec<f64>> =
                rounds.iter().map(|r| r["peak_rss_kib"].as_f64()).collect();
            let worst = peaks
                .and_then(|kib| kib.into_iter().reduce(f64::max))
                .map(|kib| kib / 1024.0);
            let errors: u64 = rounds.iter().filter_map(|r| r["errors"].as_u64()).sum();
            json!({
                "what": t["name"],
                "peak_rss_mib": worst,
                "errors": errors,
                "max_rss_mib": CONCURRENT_RSS_MIB,
                "met": worst.is_some_and(|w| w <= CONCURRENT_RSS_MIB) && errors == 0,
            })
        })
        .collect()
}

fn print_table(report: &Value) {
    println!();
    println!(
        "{} ({} round(s), unit {})",
        report["title"].as_str().unwrap_or(""),
        report["rounds"],
        report["unit"].as_str().unwrap_or("")
    );
    let m = &report["machine"];
    println!(
        "machine: {}, {} cores, kernel {}, {} GiB, {}; load before {} / after {}",
        m["cpu"].as_str().unwrap_or(""),
        m["cores"],
        m["kernel"].as_str().unwrap_or(""),
        m["memory_gib"],
        m["filesystem"].as_str().unwrap_or(""),
        m["load_before"].as_str().unwrap_or(""),
        m["load_after"].as_str().unwrap_or(""),
    );
    println!();
    println!(
        "{:<44}{:>10}{:>17}{:>9}{:>9}{:>9}{:>10}{:>10}{:>11}",
        "target", "median", "spread", "p50 ms", "p90 ms", "p99 ms", "CPU ms", "user ms", "peak RSS"
    );
    for t in report["targets"].as_array().into_iter().flatten() {
        let med = &t["median"];
        let f = |v: &Value, d: usize| v.as_f64().map(|x| format!("{x:.d$}")).unwrap_or("-".into());
        let errors: u64 = t["rounds"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["errors"].as_u64())
            .sum();
        println!(
            "{:<44}{:>10}{:>17}{:>9}{:>9}{:>9}{:>10}{:>10}{:>11}{}",
            t["name"].as_str().unwrap_or(""),
            f(&med["per_s"], 0),
            format!(
                "{}–{}",
                f(&t["spread"]["min"], 0),
                f(&t["spread"]["max"], 0)
            ),
            f(&med["p50_ms"], 1),
            f(&med["p90_ms"], 1),
            f(&med["p99_ms"], 1),
            f(&med["cpu_ms_per_op"], 2),
            f(&med["user_cpu_ms_per_op"], 2),
            crate::bench::fmt_kib(med["peak_rss_kib"].as_u64()),
            if errors > 0 {
                format!("  ERRORS {errors}")
            } else {
                String::new()
            }
        );
    }
    println!();
    for s in report["scaling"].as_array().into_iter().flatten() {
        let steps: Vec<String> = s["per_workers"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| {
                format!(
                    "{} worker(s) {:.0} ({:.2}×)",
                    p["workers"],
                    p["per_s"].as_f64().unwrap_or(f64::NAN),
                    p["over_fewest"].as_f64().unwrap_or(f64::NAN)
                )
            })
            .collect();
        println!(
            "scaling {}: {}",
            s["target"].as_str().unwrap_or(""),
            steps.join(", ")
        );
    }
    for r in report["ratios"].as_array().into_iter().flatten() {
        let rounds: Vec<String> = r["per_round"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_f64)
            .map(|x| format!("{x:.2}"))
            .collect();
        println!(
            "ratio {}: {:.2} (per round {}) — target ≥ {:.2}: {}{}",
            r["what"].as_str().unwrap_or(""),
            r["value"].as_f64().unwrap_or(f64::NAN),
            rounds.join(", "),
            r["target"].as_f64().unwrap_or(f64::NAN),
            crate::bench::verdict(r["met"] == true),
            if r["met"] == true && r["met_every_round"] != true {
                " (not in every round)"
            } else {
                ""
            }
        );
    }
    for l in report["limits"].as_array().into_iter().flatten() {
        println!(
            "limit {}: peak RSS {} in its worst round, {} errors — target ≤ {:.0} MiB and no error: {}",
            l["what"].as_str().unwrap_or(""),
            l["peak_rss_mib"]
                .as_f64()
                .map_or("unknown".to_string(), |mib| format!("{mib:.1} MiB")),
            l["errors"],
            l["max_rss_mib"].as_f64().unwrap_or(f64::NAN),
            crate::bench::verdict(l["met"] == true)
        );
    }
    let creates: Vec<f64> = report["targets"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|t| t["rounds"].as_array().into_iter().flatten())
        .filter_map(|r| r["fs_create_us"].as_f64())
        .collect();
    if let (Some(lo), Some(hi)) = (
        creates.iter().copied().reduce(f64::min),
        creates.iter().copied().reduce(f64::max),
    ) {
        println!(
            "file creation before each target: {lo:.0}–{hi:.0} µs per empty file (see docs/benchmarks.md)"
        );
    }
}

/// `bench/results/<scenario>.json` and its charts.
pub(crate) fn write_results(report: &Value) -> Result<(), String> {
    // A target that never answered (a peer that failed every round) has no figures to show.
    let mut report = report.clone();
    if let Some(targets) = report["targets"].as_array_mut() {
        targets.retain(|t| t["rounds"].as_array().is_some_and(|r| !r.is_empty()));
    }
    let report = &report;
    let dir = crate::workspace_root().join("bench/results");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let name = report["scenario"].as_str().unwrap_or("unknown");
    let path = dir.join(format!("{name}.json"));
    let text = serde_json::to_string_pretty(report).map_err(|e| e.to_string())?;
    std::fs::write(&path, text + "\n").map_err(|e| format!("{}: {e}", path.display()))?;
    println!("results: {}", path.display());
    let parsed: crate::bench_chart::ScenarioResult =
        serde_json::from_value(report.clone()).map_err(|e| format!("results: {e}"))?;
    for chart in crate::bench_chart::render(&parsed, &dir)? {
        println!("chart: {}", chart.display());
    }
    Ok(())
}

/// `YYYY-MM-DDTHH:MM:SSZ` from `date`, which every machine that runs the bench has.
pub(crate) fn utc_now() -> String {
    Command::new("date")
        .args(["-u", "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(name: &str, server: &str, rounds: &[(f64, u64)]) -> Value {
        json!({
            "name": name,
            "server": server,
            "rounds": rounds
                .iter()
                .map(|(kib, errors)| json!({ "peak_rss_kib": kib, "errors": errors }))
                .collect::<Vec<_>>(),
        })
    }

    #[test]
    fn concurrent_limits_hold_each_bounded_uplift_path_to_its_worst_round() {
        let targets = [
            target(
                "uplift tus, 256 conn/worker",
                "uplift",
                &[(150.0 * 1024.0, 0); 3],
            ),
            // One round over the limit is enough to miss it.
            target(
                "uplift multipart, 256 conn/worker",
                "uplift",
                &[(200.0 * 1024.0, 0), (257.0 * 1024.0, 0)],
            ),
            // An error misses it too, whatever the memory.
            target(
                "uplift prepare, 256 conn/worker",
                "uplift",
                &[(100.0 * 1024.0, 1)],
            ),
            // A round whose memory was not measured leaves the limit unknown, so not met.
            json!({
                "name": "uplift tus, 64 conn/worker",
                "server": "uplift",
                "rounds": [{ "peak_rss_kib": 100.0 * 1024.0, "errors": 0 }, { "errors": 0 }],
            }),
            // Not held to it: unbounded connections, and the other servers.
            target(
                "uplift multipart, actix-web default",
                "uplift",
                &[(700.0 * 1024.0, 0)],
            ),
            target(
                "baseline PUT, 256 conn/worker",
                "baseline",
                &[(300.0 * 1024.0, 0)],
            ),
        ];
        let held = limits(Scenario::Concurrent, &targets);
        let met: Vec<(&str, bool)> = held
            .iter()
            .map(|l| (l["what"].as_str().unwrap(), l["met"] == true))
            .collect();
        assert_eq!(
            met,
            [
                ("uplift tus, 256 conn/worker", true),
                ("uplift multipart, 256 conn/worker", false),
                ("uplift prepare, 256 conn/worker", false),
                ("uplift tus, 64 conn/worker", false),
            ]
        );
        assert_eq!(held[3]["peak_rss_mib"], Value::Null);
        assert_eq!(held[1]["peak_rss_mib"], 257.0);
        assert!(limits(Scenario::Small, &targets).is_empty());
    }
}
