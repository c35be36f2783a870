//! `cargo xtask bench`: upload throughput and server memory, Uplift against a bare actix-web
//! handler, in the same run on the same disk.
//!
//! Builds `uplift-bench` (bench/) in release mode, writes a random file (1 GiB by default) to a
//! temporary directory, starts two server processes — the Uplift app (local storage + SQLite in
//! that directory) and the bare baseline — and uploads the file to each target with `curl`,
//! a real third-party client, so no client work happens in this process:
//!
//! - `uplift PUT`: prepare (`POST {base}/benchFile`), then `curl -T` to the signed upload URL;
//! - `uplift multipart`: `curl -F` to `{base}/benchFile/multipart`;
//! - `baseline`: `curl -T` to the bare handler.
//!
//! Each round uploads once to every target (the order rotates between rounds); every answer's
//! SHA-256 and size are checked and the stored file is compared in length, then deleted. The
//! report gives MB/s (10^6 bytes per second of curl's `time_total`) per target, the median of
//! the per-round ratios Uplift/baseline, the CPU time the server spent per upload (all threads,
//! from `/proc/PID/stat`; steadier than wall time when other work shares the machine), and
//! each server's peak RSS (VmHWM, reset through `/proc/PID/clear_refs` before each upload).
//! Between uploads the stored file is deleted and `sync` commits the deletion, so that its
//! journal work is not billed to the next upload's fsync. It is a benchmark: missed targets are reported,
//! not failed; a wrong hash or an HTTP error fails the run.
//!
//! Then the same file over tus 1.0 (`curl`, one creation then PATCHes): in one PATCH and in
//! 32 MiB PATCHes, to the Uplift app's `benchFile` route and, in the same run, to @tus/server
//! (bench/tus-node-server.mjs, from the workspace's node_modules) and `rustus` (when on the
//! PATH); a peer that is not installed is skipped with a message. The stored bytes are checked
//! by length; the report gives MB/s, peak RSS and the ratios Uplift/peer.
//!
//! Options: `--size-mib N` (default 1024), `--runs N` (default 3), `--workers N` (actix workers
//! per server, default 1), `--baseline-buffer BYTES` (the baseline's BufWriter, default 256 KiB).
//! `--storage s3` runs the S3 bench instead (`bench_s3.rs`).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// What the bench holds Uplift to: at least 90% of the bare handler's throughput, peak RSS at
/// most 16 MiB.
const TARGET_RATIO: f64 = 0.90;
const TARGET_RSS_KIB: u64 = 16 * 1024;

pub(crate) const SLUG: &str = "benchFile";
const CONTENT_TYPE: &str = "application/octet-stream";

pub(crate) struct Args {
    /// `large` (the default), `small`, `prepare`, `concurrent`, or `all` of them.
    scenarios: Vec<String>,
    pub(crate) size_mib: u64,
    pub(crate) runs: usize,
    pub(crate) workers: usize,
    /// `--workers 1,2`: the many-upload scenarios run the servers with each count.
    worker_counts: Vec<usize>,
    /// `--count N`: uploads per target in the many-upload scenarios (default: the scenario's).
    count: Option<u64>,
    baseline_buffer: Option<usize>,
    /// `--storage s3`: the S3 bench (`bench_s3.rs`) instead of this one.
    storage_s3: bool,
}

fn parse_args(args: &[String]) -> Result<Args, String> {
    let mut parsed = Args {
        scenarios: Vec::new(),
        size_mib: 1024,
        runs: 3,
        workers: 1,
        worker_counts: vec![1],
        count: None,
        baseline_buffer: None,
        storage_s3: false,
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        if flag == "--help" || flag == "-h" {
            return Err(
                "usage: cargo xtask bench [large|small|prepare|concurrent|all …] [--runs N] \
                 [--workers N[,N…]] [--count N] [--size-mib N] [--baseline-buffer BYTES] \
                 [--storage local|s3]"
                    .into(),
            );
        }
        if !flag.starts_with("--") {
            match flag.as_str() {
                "all" => parsed
                    .scenarios
                    .extend(["small", "prepare", "concurrent", "large"].map(String::from)),
                "large" | "small" | "prepare" | "concurrent" => parsed.scenarios.push(flag.clone()),
                _ => return Err(format!("unknown scenario {flag} (try --help)")),
            }
            continue;
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        if flag == "--workers" {
            let counts: Result<Vec<usize>, _> = value.split(',').map(str::parse).collect();
            match counts {
                Ok(c) if !c.is_empty() && c.iter().all(|&n| n >= 1) => {
                    parsed.workers = c[0];
                    parsed.worker_counts = c;
                }
                _ => return Err(format!("--workers: numbers of at least 1, not {value}")),
            }
            continue;
        }
        if flag == "--storage" {
            parsed.storage_s3 = match value.as_str() {
                "s3" => true,
                "local" => false,
                _ => return Err(format!("--storage: local or s3, not {value}")),
            };
            continue;
        }
        let n: u64 = value
            .parse()
            .map_err(|_| format!("{flag}: not a number: {value}"))?;
        if n == 0 {
            return Err(format!("{flag} must be at least 1"));
        }
        match flag.as_str() {
            "--size-mib" => parsed.size_mib = n,
            "--runs" => parsed.runs = n as usize,
            "--count" => parsed.count = Some(n),
            "--baseline-buffer" => parsed.baseline_buffer = Some(n as usize),
            _ => return Err(format!("unknown option {flag} (try --help)")),
        }
    }
    Ok(parsed)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    Put,
    Multipart,
    Baseline,
}

const TARGETS: [Target; 3] = [Target::Put, Target::Multipart, Target::Baseline];

impl Target {
    fn label(self) -> &'static str {
        match self {
            Target::Put => "uplift PUT (prepare + signed PUT)",
            Target::Multipart => "uplift multipart (one-shot POST)",
            Target::Baseline => "baseline (bare actix-web PUT)",
        }
    }
}

/// One measured upload.
struct Sample {
    mb_per_s: f64,
    /// VmHWM of the receiving server during the upload, when the kernel lets us reset it.
    peak_kib: Option<u64>,
    /// CPU time (user + system, all threads) the receiving server spent on the upload. Less
    /// sensitive than wall time to other work on the machine.
    cpu_s: Option<f64>,
}

pub fn run(args: &[String]) -> Result<(), String> {
    let mut args = parse_args(args)?;
    if args.storage_s3 {
        return crate::bench_s3::run(&args);
    }
    if args.scenarios.is_empty() {
        args.scenarios.push("large".into());
    }
    for scenario in args.scenarios.clone() {
        match crate::bench_load::Scenario::parse(&scenario) {
            Some(s) => crate::bench_load::run(
                s,
                &crate::bench_load::LoadArgs {
                    runs: args.runs,
                    workers: args.worker_counts.clone(),
                    count: args.count,
                },
            )?,
            None => large(&args)?,
        }
    }
    Ok(())
}

/// The large-file scenario: one file of `--size-mib` through each way, then over tus.
fn large(args: &Args) -> Result<(), String> {
    let curl_version = curl_version()?;
    let exe = build_server()?;

    let tmp = tempfile::Builder::new()
        .prefix("uplift-bench-")
        .tempdir()
        .map_err(|e| format!("temporary directory: {e}"))?;
    let input = tmp.path().join("input.bin");
    let size = args.size_mib * 1024 * 1024;
    eprintln!(
        "bench: writing {} MiB of random data to {}",
        args.size_mib,
        input.display()
    );
    let expected_sha = write_random_file(&exe, &input, size)?;

    let uplift = Server::start(&exe, "uplift", &tmp.path().join("uplift"), args)?;
    let baseline = Server::start(&exe, "baseline", &tmp.path().join("baseline"), args)?;
    let bench = Bench {
        tmp: tmp.path(),
        clock_ticks: clock_ticks(),
        uplift: &uplift,
        baseline: &baseline,
    };

    // Warm-up: first connections, SQLite's first writes, lazily started threads.
    let warm = tmp.path().join("warmup.bin");
    let warm_sha = write_random_file(&exe, &warm, 1024 * 1024)?;
    for target in TARGETS {
        bench.upload(target, &warm, 1024 * 1024, &warm_sha)?;
    }
    std::fs::remove_file(&warm).map_err(|e| e.to_string())?;
    let idle = [
        rss_kib(uplift.pid, "VmRSS:"),
        rss_kib(baseline.pid, "VmRSS:"),
    ];
    let idle_file = [
        rss_kib(uplift.pid, "RssFile:"),
        rss_kib(baseline.pid, "RssFile:"),
    ];

    let load_before = loadavg();
    let started = Instant::now();
    let mut samples: Vec<[Option<Sample>; 3]> = Vec::new();
    for round in 0..args.runs {
        let mut row: [Option<Sample>; 3] = [None, None, None];
        for i in 0..TARGETS.len() {
            let idx = (round + i) % TARGETS.len();
            let target = TARGETS[idx];
            let sample = bench.upload(target, &input, size, &expected_sha)?;
            eprintln!(
                "bench: round {}: {:<34} {:>8.1} MB/s  server CPU {}  peak RSS {}",
                round + 1,
                target.label(),
                sample.mb_per_s,
                fmt_secs(sample.cpu_s),
                fmt_kib(sample.peak_kib)
            );
            row[idx] = Some(sample);
        }
        samples.push(row);
    }
    let elapsed = started.elapsed();
    let load_after = loadavg();
    // Before the tus part, so that the PUT/multipart lifetime peak is theirs alone.
    let lifetime_hwm = [
        rss_kib(uplift.pid, "VmHWM:"),
        rss_kib(baseline.pid, "VmHWM:"),
    ];
    drop(baseline);

    let env = Environment {
        curl_version,
        load_before,
        load_after,
        elapsed,
        idle,
        idle_file,
        lifetime_hwm,
        dir: tmp.path().to_path_buf(),
    };
    report(args, &samples, &env);
    let targets: Vec<serde_json::Value> = TARGETS
        .iter()
        .enumerate()
        .map(|(t, target)| {
            let rounds: Vec<(f64, Option<f64>, Option<u64>)> = samples
                .iter()
                .filter_map(|row| row[t].as_ref())
                .map(|s| (s.mb_per_s, s.cpu_s, s.peak_kib))
                .collect();
            let server = if *target == Target::Baseline {
                "baseline"
            } else {
                "uplift"
            };
            target_json(target.label(), server, &rounds)
        })
        .collect();
    let ratios: Vec<serde_json::Value> = [(0usize, "PUT"), (1, "multipart")]
        .iter()
        .map(|&(t, what)| {
            let r: Vec<f64> = samples
                .iter()
                .filter_map(|row| Some(row[t].as_ref()?.mb_per_s / row[2].as_ref()?.mb_per_s))
                .collect();
            let m = median(&r);
            serde_json::json!({
                "what": format!("uplift {what} / baseline (median of per-round ratios)"),
                "value": m, "target": TARGET_RATIO, "met": m >= TARGET_RATIO,
            })
        })
        .collect();
    crate::bench_load::write_results(&serde_json::json!({
        "scenario": "large",
        "title": format!("One {} MiB file", args.size_mib),
        "unit": "MB/s",
        "date": crate::bench_load::utc_now(),
        "command": format!("cargo xtask bench large --runs {}", args.runs),
        "machine": crate::bench_load::machine_state(),
        "rounds": args.runs,
        "targets": targets,
        "ratios": ratios,
    }))?;
    let tus = tus_bench(tmp.path(), &uplift, &input, size, args.runs);
    drop(uplift);
    tus
}

struct Environment {
    curl_version: String,
    load_before: String,
    load_after: String,
    elapsed: Duration,
    /// VmRSS after warm-up: uplift, baseline.
    idle: [Option<u64>; 2],
    /// The file-backed part of it (mapped code and data of the binary and its libraries).
    idle_file: [Option<u64>; 2],
    /// Where the input, the SQLite database and the stored files were: one filesystem.
    dir: PathBuf,
    /// VmHWM since the last reset: uplift, baseline.
    lifetime_hwm: [Option<u64>; 2],
}

fn report(args: &Args, samples: &[[Option<Sample>; 3]], env: &Environment) {
    let get =
        |t: usize| -> Vec<&Sample> { samples.iter().filter_map(|row| row[t].as_ref()).collect() };
    let mbps = |t: usize| -> Vec<f64> { get(t).iter().map(|s| s.mb_per_s).collect() };
    let peak = |t: usize| -> Option<u64> { get(t).iter().filter_map(|s| s.peak_kib).max() };
    let cpu = |t: usize| -> Option<f64> {
        let v: Vec<f64> = get(t).iter().filter_map(|s| s.cpu_s).collect();
        (!v.is_empty()).then(|| median(&v))
    };
    let ratios = |t: usize| -> Vec<f64> {
        samples
            .iter()
            .filter_map(|row| Some(row[t].as_ref()?.mb_per_s / row[2].as_ref()?.mb_per_s))
            .collect()
    };

    println!();
    println!(
        "Uplift upload benchmark: {} MiB random file, {} round(s), {} actix worker(s) per server, \
         {}",
        args.size_mib, args.runs, args.workers, env.curl_version
    );
    println!(
        "baseline: tokio::fs::File behind a {} KiB BufWriter, SHA-256 on the worker, fsync at the end",
        args.baseline_buffer.unwrap_or(256 * 1024) / 1024
    );
    println!(
        "load average before {} / after {} ({:.0} s measured); MB/s = 10^6 bytes/s of curl \
         time_total; server CPU = user+system time of the server process per upload (median)",
        env.load_before,
        env.load_after,
        env.elapsed.as_secs_f64()
    );
    println!(
        "input file, SQLite database and stored files all under {}",
        env.dir.display()
    );
    println!();
    let runs_header: String = (1..=samples.len())
        .map(|i| format!("{:>9}", format!("run {i}")))
        .collect();
    println!(
        "{:<34}{runs_header}{:>10}{:>12}{:>12}",
        "target (MB/s)", "median", "server CPU", "peak RSS"
    );
    for (t, target) in TARGETS.iter().enumerate() {
        let cells: String = samples
            .iter()
            .map(|row| match &row[t] {
                Some(s) => format!("{:>9.1}", s.mb_per_s),
                None => format!("{:>9}", "-"),
            })
            .collect();
        println!(
            "{:<34}{cells}{:>10.1}{:>12}{:>12}",
            target.label(),
            median(&mbps(t)),
            fmt_secs(cpu(t)),
            fmt_kib(peak(t))
        );
    }
    println!();

    for (t, what) in [(0usize, "PUT"), (1, "multipart")] {
        let r = ratios(t);
        let m = median(&r);
        let each: Vec<String> = r.iter().map(|x| format!("{x:.3}")).collect();
        println!(
            "ratio uplift {what}/baseline: {m:.3} (median; per round {}) — target ≥ {TARGET_RATIO:.2}: {}",
            each.join(", "),
            verdict(m >= TARGET_RATIO)
        );
    }
    let up_peak = [peak(0), peak(1), env.lifetime_hwm[0]]
        .into_iter()
        .flatten()
        .max();
    let base_peak = [peak(2), env.lifetime_hwm[1]].into_iter().flatten().max();
    match up_peak {
        Some(kib) => println!(
            "peak RSS uplift server: {} (idle {}, {} of it file-backed) — target ≤ {}: {}",
            fmt_kib(Some(kib)),
            fmt_kib(env.idle[0]),
            fmt_kib(env.idle_file[0]),
            fmt_kib(Some(TARGET_RSS_KIB)),
            verdict(kib <= TARGET_RSS_KIB)
        ),
        None => println!("peak RSS uplift server: not available on this system"),
    }
    println!(
        "peak RSS baseline server: {} (idle {}, {} of it file-backed)",
        fmt_kib(base_peak),
        fmt_kib(env.idle[1]),
        fmt_kib(env.idle_file[1])
    );
    if peak(0).is_none() && up_peak.is_some() {
        println!("(peak RSS could not be reset between uploads: figures are per process lifetime)");
    }
}

pub(crate) fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "MISSED"
    }
}

pub(crate) fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

pub(crate) fn fmt_secs(secs: Option<f64>) -> String {
    match secs {
        Some(s) => format!("{s:.2} s"),
        None => "n/a".into(),
    }
}

pub(crate) fn fmt_kib(kib: Option<u64>) -> String {
    match kib {
        Some(k) => format!("{:.1} MiB", k as f64 / 1024.0),
        None => "n/a".into(),
    }
}

/// `cargo build --release -p uplift-bench`; returns the binary's path.
pub(crate) fn build_server() -> Result<PathBuf, String> {
    let mut cmd = crate::cargo();
    cmd.args([
        "build",
        "--release",
        "-p",
        "uplift-bench",
        "--message-format=json-render-diagnostics",
    ]);
    eprintln!("$ {cmd:?}");
    let out = cmd
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("could not start cargo: {e}"))?;
    if !out.status.success() {
        return Err("building uplift-bench failed".into());
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|msg| {
            msg["reason"] == "compiler-artifact" && msg["target"]["name"] == "uplift-bench"
        })
        .find_map(|msg| msg["executable"].as_str().map(PathBuf::from))
        .ok_or_else(|| "cargo did not report the uplift-bench executable".into())
}

pub(crate) fn curl_version() -> Result<String, String> {
    let out = Command::new("curl")
        .arg("--version")
        .output()
        .map_err(|e| format!("the benchmark uploads with curl, which could not be started: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" "))
}

/// Writes `size` random bytes to `path` (fsynced) with the release-built helper, which is
/// quicker at hashing than this unoptimized crate. Returns their SHA-256.
pub(crate) fn write_random_file(exe: &Path, path: &Path, size: u64) -> Result<String, String> {
    let out = Command::new(exe)
        .arg("gen")
        .arg(path)
        .arg(size.to_string())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("could not start {}: {e}", exe.display()))?;
    let sha = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() || sha.len() != 64 {
        return Err(format!("could not write {}", path.display()));
    }
    Ok(sha)
}

/// One server process; killed when dropped.
pub(crate) struct Server {
    child: Child,
    pub(crate) pid: u32,
    /// `http://127.0.0.1:PORT`
    pub(crate) origin: String,
    dir: PathBuf,
    _stdout: BufReader<ChildStdout>,
}

impl Server {
    pub(crate) fn start(exe: &Path, mode: &str, dir: &Path, args: &Args) -> Result<Server, String> {
        let mut extra = Vec::new();
        if let Some(b) = args.baseline_buffer {
            extra.extend(["--buffer".to_string(), b.to_string()]);
        }
        Server::start_with(exe, mode, dir, args.workers, &extra)
    }

    /// `uplift-bench MODE DIR --workers N EXTRA…`, once it says where it listens.
    pub(crate) fn start_with(
        exe: &Path,
        mode: &str,
        dir: &Path,
        workers: usize,
        extra: &[String],
    ) -> Result<Server, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut cmd = Command::new(exe);
        cmd.arg(mode)
            .arg(dir)
            .arg("--workers")
            .arg(workers.to_string())
            .args(extra);
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("could not start {}: {e}", exe.display()))?;
        let pid = child.id();
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut line = String::new();
        let read = stdout.read_line(&mut line);
        let origin = line
            .trim()
            .strip_prefix("listening on ")
            .map(str::to_string);
        let server = |origin| Server {
            child,
            pid,
            origin,
            dir: dir.to_path_buf(),
            _stdout: stdout,
        };
        match (read, origin) {
            (Ok(_), Some(origin)) => Ok(server(origin)),
            _ => {
                drop(server(String::new()));
                Err(format!(
                    "the {mode} server did not start (it said {line:?})"
                ))
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Bench<'a> {
    tmp: &'a Path,
    /// `getconf CLK_TCK`: the unit of the CPU times in `/proc/PID/stat`.
    clock_ticks: f64,
    uplift: &'a Server,
    baseline: &'a Server,
}

/// What curl reported for one request.
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) seconds: f64,
    pub(crate) body: Value,
}

/// Runs curl with `args`; the answer goes to a file in `tmp` (read back as JSON when it is),
/// status and timing to stdout.
pub(crate) fn curl_json(tmp: &Path, args: &[&str]) -> Result<Response, String> {
    let body_path = tmp.join("response.json");
    let (status, seconds) = curl_timed(&["-o".as_ref(), body_path.as_os_str()], args)?;
    let raw = std::fs::read(&body_path).unwrap_or_default();
    let body = serde_json::from_slice(&raw)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&raw).into()));
    Ok(Response {
        status,
        seconds,
        body,
    })
}

impl Bench<'_> {
    /// Uploads `file` to `target`, checks the answer and the stored bytes, removes them.
    fn upload(&self, target: Target, file: &Path, size: u64, sha: &str) -> Result<Sample, String> {
        let server = if target == Target::Baseline {
            self.baseline
        } else {
            self.uplift
        };
        let base = format!("{}/api/uploads", server.origin);
        let file_arg = file.to_str().ok_or("temporary path is not UTF-8")?;

        // The signed URL is minted before measuring; only the upload itself is timed.
        let put_url_and_headers = if target == Target::Put {
            let declaration = serde_json::json!({
                "files": [{ "name": "random.bin", "size": size, "type": CONTENT_TYPE }],
                "input": null,
            });
            let prepared = self.curl(&[
                "-X",
                "POST",
                "-H",
                "content-type: application/json",
                "--data-binary",
                &declaration.to_string(),
                &format!("{base}/{SLUG}"),
            ])?;
            expect_ok("prepare", &prepared)?;
            let file0 = &prepared.body["files"][0];
            let url = file0["uploadUrl"]
                .as_str()
                .ok_or("prepare: no uploadUrl")?
                .to_string();
            let headers: Vec<String> = file0["headers"]
                .as_object()
                .map(|h| {
                    h.iter()
                        .map(|(k, v)| format!("{k}: {}", v.as_str().unwrap_or("")))
                        .collect()
                })
                .unwrap_or_default();
            Some((url, headers))
        } else {
            None
        };

        let hwm_reset = reset_peak_rss(server.pid);
        let cpu_before = cpu_ticks(server.pid);
        let resp = match (target, &put_url_and_headers) {
            (Target::Put, Some((url, headers))) => {
                let mut a: Vec<&str> = vec!["-T", file_arg];
                for h in headers {
                    a.extend(["-H", h.as_str()]);
                }
                a.push(url);
                self.curl(&a)?
            }
            (Target::Multipart, _) => {
                let form = format!("file=@{file_arg};type={CONTENT_TYPE};filename=random.bin");
                self.curl(&["-F", &form, &format!("{base}/{SLUG}/multipart")])?
            }
            _ => {
                let ct = format!("content-type: {CONTENT_TYPE}");
                self.curl(&[
                    "-T",
                    file_arg,
                    "-H",
                    &ct,
                    &format!("{}/upload", server.origin),
                ])?
            }
        };
        let cpu_s = match (cpu_before, cpu_ticks(server.pid)) {
            (Some(a), Some(b)) => Some(b.saturating_sub(a) as f64 / self.clock_ticks),
            _ => None,
        };
        let peak_kib = if hwm_reset {
            rss_kib(server.pid, "VmHWM:")
        } else {
            None
        };
        expect_ok(target.label(), &resp)?;

        let (answer, stored) = match target {
            Target::Put => {
                let f = &resp.body["file"];
                (
                    f,
                    server
                        .dir
                        .join("files")
                        .join(f["key"].as_str().unwrap_or("?")),
                )
            }
            Target::Multipart => {
                let f = &resp.body["files"][0]["file"];
                (
                    f,
                    server
                        .dir
                        .join("files")
                        .join(f["key"].as_str().unwrap_or("?")),
                )
            }
            Target::Baseline => {
                let b = &resp.body;
                (b, server.dir.join(b["name"].as_str().unwrap_or("?")))
            }
        };
        let got_sha = answer["sha256"].as_str().unwrap_or("");
        if got_sha != sha || answer["size"].as_u64() != Some(size) {
            return Err(format!(
                "{}: the server answered sha256 {got_sha:?} size {}, the file has {sha} and {size}",
                target.label(),
                answer["size"]
            ));
        }
        let on_disk = std::fs::metadata(&stored).map(|m| m.len());
        if on_disk.as_ref().ok() != Some(&size) {
            return Err(format!(
                "{}: {} holds {on_disk:?} bytes, not {size}",
                target.label(),
                stored.display()
            ));
        }
        std::fs::remove_file(&stored).map_err(|e| format!("{}: {e}", stored.display()))?;
        // Let the background completion hook and the deletion settle before the next upload,
        // and commit the deletion now: otherwise its journal work lands in whichever fsync
        // comes next, possibly another target's.
        let _ = Command::new("sync").status();
        std::thread::sleep(Duration::from_millis(300));
        Ok(Sample {
            mb_per_s: size as f64 / resp.seconds / 1e6,
            peak_kib,
            cpu_s,
        })
    }

    fn curl(&self, args: &[&str]) -> Result<Response, String> {
        curl_json(self.tmp, args)
    }
}

fn expect_ok(what: &str, resp: &Response) -> Result<(), String> {
    if resp.status == 200 {
        Ok(())
    } else {
        Err(format!("{what}: HTTP {} {}", resp.status, resp.body))
    }
}

/// Resets the process's VmHWM to its current RSS (Linux ≥ 4.0); `false` where unsupported.
pub(crate) fn reset_peak_rss(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

/// A `kB` field of `/proc/PID/status` (`VmRSS:`, `VmHWM:`).
pub(crate) fn rss_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line[field.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// utime + stime of a process, all threads, in clock ticks.
pub(crate) fn cpu_ticks(pid: u32) -> Option<u64> {
    cpu_split(pid).map(|(user, system)| user + system)
}

/// CPU time of `pid`, all threads, in clock ticks: (user, system).
pub(crate) fn cpu_split(pid: u32) -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may contain spaces: utime and
    // stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    Some((
        fields.get(11)?.parse::<u64>().ok()?,
        fields.get(12)?.parse::<u64>().ok()?,
    ))
}

pub(crate) fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

pub(crate) fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "n/a".into())
}

// ---------------------------------------------------------------------------------------------
// tus: the same file over tus 1.0, in one PATCH and in 32 MiB PATCHes, to the Uplift app's
// `benchFile` route and, in the same run, to the tus peers that are installed (@tus/server
// from the workspace's node_modules, `rustus` on the PATH).

const TUS_CHUNK: u64 = 32 * 1024 * 1024;

#[derive(Clone, Copy, PartialEq, Eq)]
enum TusMode {
    OnePatch,
    Chunks,
}

impl TusMode {
    fn label(self) -> &'static str {
        match self {
            TusMode::OnePatch => "one PATCH",
            TusMode::Chunks => "32 MiB PATCHes",
        }
    }
}

/// A tus server under test: where its creation endpoint is and how to find the stored bytes.
struct TusTarget {
    name: &'static str,
    pid: u32,
    creation_url: String,
    /// Uplift: the stored file is `{dir}/files/{Uplift-Key}`; peers: `{dir}/{last segment}`.
    uplift_dir: Option<PathBuf>,
    peer_dir: Option<PathBuf>,
}

/// One measured tus upload.
struct TusSample {
    mb_per_s: f64,
    peak_kib: Option<u64>,
}

/// A peer process; killed when dropped.
pub(crate) struct Peer {
    child: Child,
    pub(crate) origin: String,
    _stdout: BufReader<ChildStdout>,
}

impl Peer {
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn root_dir() -> PathBuf {
    crate::workspace_root()
}

/// @tus/server with its FileStore, when the workspace's node_modules has it.
pub(crate) fn start_tus_node(dir: &Path) -> Result<Peer, String> {
    let root = root_dir();
    if !root.join("node_modules/@tus/server").exists() {
        return Err("not installed (`npm ci` at the repo root installs it)".into());
    }
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let mut child = Command::new("node")
        .arg(root.join("bench/tus-node-server.mjs"))
        .arg(dir)
        .current_dir(&root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("could not start node: {e}"))?;
    let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
    let mut line = String::new();
    let _ = stdout.read_line(&mut line);
    match line.trim().strip_prefix("listening on ") {
        Some(origin) => Ok(Peer {
            origin: origin.to_string(),
            child,
            _stdout: stdout,
        }),
        None => {
            let _ = child.kill();
            let _ = child.wait();
            Err(format!("did not start (it said {line:?})"))
        }
    }
}

/// The rustus binary: on the PATH, or where `cargo install rustus --locked --root
/// ~/.cache/rustus` puts it.
fn rustus_binary() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join("rustus"))
            .find(|b| b.is_file())
    });
    let cached = std::env::var_os("HOME")
        .map(|h| PathBuf::from(h).join(".cache/rustus/bin/rustus"))
        .filter(|b| b.is_file());
    on_path.or(cached)
}

/// rustus with its file store in `dir`, configured as a fair peer: a body limit that lets a
/// 2 GiB PATCH through (its default, 256 KiB, refuses every large PATCH with 413), the tus
/// extensions the bench uses, one hook left (`post-terminate`; it refuses an empty list and
/// fires on DELETE only), warnings-only logging, and `workers` worker threads.
pub(crate) fn start_rustus(dir: &Path, workers: usize) -> Result<Peer, String> {
    let Some(rustus) = rustus_binary() else {
        return Err(
            "not installed (`cargo install rustus --locked --root ~/.cache/rustus`)".into(),
        );
    };
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    let mut child = Command::new(rustus)
        .args([
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--url",
            "/files",
            "--max-body-size",
            "2147483648",
            "--tus-extensions",
            "creation,creation-with-upload,termination",
            "--hooks",
            "post-terminate",
            "--log-level",
            "WARN",
            "--workers",
            &workers.to_string(),
        ])
        .arg("--data-dir")
        .arg(dir)
        .arg("--info-dir")
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("could not start rustus: {e}"))?;
    let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
    let origin = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err("did not listen within 10 s".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(Peer {
        child,
        origin,
        _stdout: stdout,
    })
}

fn b64(s: &str) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = s.as_bytes();
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Response headers, names in lower case.
type Headers = Vec<(String, String)>;

/// Runs curl quietly (no `Expect: 100-continue`) with `setup` (where the answer goes) then
/// `args`; the HTTP status and curl's `time_total`.
pub(crate) fn curl_timed(setup: &[&std::ffi::OsStr], args: &[&str]) -> Result<(u16, f64), String> {
    let out = Command::new("curl")
        .args(["-sS", "-H", "Expect:"])
        .args(setup)
        .args(["-w", "%{http_code} %{time_total}"])
        .args(args)
        .output()
        .map_err(|e| format!("could not run curl: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "curl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut parts = stdout.split_whitespace();
    let status = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or("curl gave no status")?;
    let seconds = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or("curl gave no time")?;
    Ok((status, seconds))
}

/// curl with the response headers dumped: status, time_total, headers.
fn curl_tus(tmp: &Path, args: &[&str]) -> Result<(u16, f64, Headers), String> {
    let head = tmp.join("tus-headers.txt");
    let setup: [&std::ffi::OsStr; 6] = [
        "-H".as_ref(),
        "Tus-Resumable: 1.0.0".as_ref(),
        "-o".as_ref(),
        "/dev/null".as_ref(),
        "-D".as_ref(),
        head.as_os_str(),
    ];
    let (status, secs) = curl_timed(&setup, args)?;
    let headers = std::fs::read_to_string(&head)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Ok((status, secs, headers))
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Creates an upload, sends `file` as `mode` says, checks the stored bytes, removes them.
fn tus_upload(
    tmp: &Path,
    target: &TusTarget,
    mode: TusMode,
    file: &Path,
    chunks: &[PathBuf],
    size: u64,
) -> Result<TusSample, String> {
    let file_arg = file.to_str().ok_or("temporary path is not UTF-8")?;
    let meta = format!(
        "Upload-Metadata: filename {},filetype {}",
        b64("random.bin"),
        b64(CONTENT_TYPE)
    );
    let length = format!("Upload-Length: {size}");
    let (status, _, headers) = curl_tus(
        tmp,
        &[
            "-X",
            "POST",
            "-H",
            &length,
            "-H",
            &meta,
            &target.creation_url,
        ],
    )?;
    if status != 201 {
        return Err(format!("{}: creation answered {status}", target.name));
    }
    let location = header(&headers, "location").ok_or("creation gave no Location")?;
    let url = if location.starts_with('/') {
        let origin: String = target
            .creation_url
            .splitn(4, '/')
            .take(3)
            .collect::<Vec<_>>()
            .join("/");
        format!("{origin}{location}")
    } else {
        location.to_string()
    };
    let key = header(&headers, "uplift-key").map(str::to_string);

    let reset = reset_peak_rss(target.pid);
    let mut seconds = 0.0;
    let mut last_headers = Vec::new();
    let parts: Vec<(&str, u64)> = match mode {
        TusMode::OnePatch => vec![(file_arg, 0)],
        TusMode::Chunks => chunks
            .iter()
            .enumerate()
            .map(|(i, p)| (p.to_str().unwrap_or(""), i as u64 * TUS_CHUNK))
            .collect(),
    };
    for (part, offset) in parts {
        let off = format!("Upload-Offset: {offset}");
        let (status, secs, h) = curl_tus(
            tmp,
            &[
                "-X",
                "PATCH",
                "-T",
                part,
                "-H",
                "Content-Type: application/offset+octet-stream",
                "-H",
                &off,
                &url,
            ],
        )?;
        if status != 204 {
            return Err(format!(
                "{}: PATCH at {offset} answered {status}",
                target.name
            ));
        }
        seconds += secs;
        last_headers = h;
    }
    let peak_kib = if reset {
        rss_kib(target.pid, "VmHWM:")
    } else {
        None
    };
    if header(&last_headers, "upload-offset") != Some(size.to_string().as_str()) {
        return Err(format!(
            "{}: the last PATCH did not reach {size}",
            target.name
        ));
    }
    // The stored bytes: Uplift's committed file, or the peer's upload file.
    let last = url
        .rsplit('/')
        .next()
        .unwrap_or("")
        .split('?')
        .next()
        .unwrap_or("");
    let stored = match (&target.uplift_dir, &target.peer_dir) {
        (Some(dir), _) => {
            let key = key.unwrap_or_else(|| last.split('.').next().unwrap_or("").to_string());
            dir.join("files").join(key)
        }
        (None, Some(dir)) => dir.join(last),
        _ => unreachable!(),
    };
    let on_disk = std::fs::metadata(&stored).map(|m| m.len());
    if on_disk.as_ref().ok() != Some(&size) {
        return Err(format!(
            "{}: {} holds {on_disk:?} bytes, not {size}",
            target.name,
            stored.display()
        ));
    }
    let _ = std::fs::remove_file(&stored);
    let _ = std::fs::remove_file(stored.with_extension("json"));
    let _ = Command::new("sync").status();
    std::thread::sleep(Duration::from_millis(300));
    Ok(TusSample {
        mb_per_s: size as f64 / seconds / 1e6,
        peak_kib,
    })
}

/// Splits `file` into 32 MiB files under `dir` (the bodies of the chunked PATCHes).
fn split_chunks(file: &Path, dir: &Path, size: u64) -> Result<Vec<PathBuf>, String> {
    use std::io::{Read, Write};
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let mut input = std::fs::File::open(file).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    let mut buf = vec![0u8; 1024 * 1024];
    let mut left = size;
    while left > 0 {
        let path = dir.join(format!("chunk-{:04}", out.len()));
        let mut f = std::fs::File::create(&path).map_err(|e| e.to_string())?;
        let mut n = left.min(TUS_CHUNK);
        left -= n;
        while n > 0 {
            let want = n.min(buf.len() as u64) as usize;
            input
                .read_exact(&mut buf[..want])
                .map_err(|e| e.to_string())?;
            f.write_all(&buf[..want]).map_err(|e| e.to_string())?;
            n -= want as u64;
        }
        out.push(path);
    }
    Ok(out)
}

/// The tus part of the run: Uplift and each installed peer, `runs` rounds of both modes.
fn tus_bench(
    tmp: &Path,
    uplift: &Server,
    file: &Path,
    size: u64,
    runs: usize,
) -> Result<(), String> {
    let chunks = split_chunks(file, &tmp.join("chunks"), size)?;
    let mut targets = vec![TusTarget {
        name: "uplift",
        pid: uplift.pid,
        creation_url: format!("{}/api/uploads/{SLUG}/tus", uplift.origin),
        uplift_dir: Some(uplift.dir.clone()),
        peer_dir: None,
    }];
    let mut peers = Vec::new();
    type Starter = fn(&Path) -> Result<Peer, String>;
    let starters: [(&'static str, Starter); 2] = [
        ("@tus/server", start_tus_node),
        ("rustus", |dir| start_rustus(dir, 1)),
    ];
    let mut skipped = Vec::new();
    for (name, start) in starters {
        let dir = tmp.join(name.replace(['@', '/'], "_"));
        match start(&dir) {
            Ok(peer) => {
                targets.push(TusTarget {
                    name,
                    pid: peer.child.id(),
                    creation_url: format!("{}/files", peer.origin),
                    uplift_dir: None,
                    peer_dir: Some(dir),
                });
                peers.push(peer);
            }
            Err(why) => skipped.push(format!("{name}: {why}; skipped")),
        }
    }
    let modes = [TusMode::OnePatch, TusMode::Chunks];
    // [target][mode] -> samples
    let mut samples: Vec<[Vec<TusSample>; 2]> = targets.iter().map(|_| [vec![], vec![]]).collect();
    for round in 0..runs {
        for (m, mode) in modes.iter().enumerate() {
            for k in 0..targets.len() {
                let t = (round + k) % targets.len();
                match tus_upload(tmp, &targets[t], *mode, file, &chunks, size) {
                    Ok(s) => {
                        eprintln!(
                            "bench: round {}: tus {:<15} {:<12} {:>8.1} MB/s  peak RSS {}",
                            round + 1,
                            mode.label(),
                            targets[t].name,
                            s.mb_per_s,
                            fmt_kib(s.peak_kib)
                        );
                        samples[t][m].push(s);
                    }
                    // Uplift must work; a peer that fails is reported, not fatal.
                    Err(e) if t == 0 => return Err(e),
                    Err(e) => eprintln!("bench: {e}"),
                }
            }
        }
    }
    drop(peers);
    for c in &chunks {
        let _ = std::fs::remove_file(c);
    }

    println!();
    println!(
        "tus 1.0, the same {} MiB file (MB/s = 10^6 bytes/s of the PATCHes' curl time_total, median of {runs}):",
        size / (1024 * 1024)
    );
    println!(
        "{:<30}{:>12}{:>12}{:>14}",
        "target", "MB/s", "peak RSS", "uplift ratio"
    );
    for (m, mode) in modes.iter().enumerate() {
        let med = |t: usize| -> Option<f64> {
            let v: Vec<f64> = samples[t][m].iter().map(|s| s.mb_per_s).collect();
            (!v.is_empty()).then(|| median(&v))
        };
        let peak = |t: usize| samples[t][m].iter().filter_map(|s| s.peak_kib).max();
        for (t, target) in targets.iter().enumerate() {
            let ratio = match (med(0), med(t)) {
                (Some(u), Some(p)) if t > 0 => format!("{:.2}x", u / p),
                _ => "-".into(),
            };
            println!(
                "{:<30}{:>12}{:>12}{:>14}",
                format!("{} ({})", target.name, mode.label()),
                med(t)
                    .map(|v| format!("{v:.1}"))
                    .unwrap_or_else(|| "-".into()),
                fmt_kib(peak(t)),
                ratio
            );
        }
        let fastest_peer = (1..targets.len())
            .filter_map(med)
            .fold(None, |a: Option<f64>, b| Some(a.map_or(b, |a| a.max(b))));
        match (med(0), fastest_peer) {
            (Some(u), Some(p)) => println!(
                "  {}: uplift / fastest peer = {:.2}x — target ≥ 2.00: {}; uplift peak RSS {} — target ≤ {}: {}",
                mode.label(),
                u / p,
                verdict(u / p >= 2.0),
                fmt_kib(peak(0)),
                fmt_kib(Some(TARGET_RSS_KIB)),
                verdict(peak(0).is_some_and(|k| k <= TARGET_RSS_KIB))
            ),
            _ => println!("  {}: no peer measured", mode.label()),
        }
    }
    for s in skipped {
        println!("{s}");
    }
    let mut out = Vec::new();
    for (m, mode) in modes.iter().enumerate() {
        for (t, target) in targets.iter().enumerate() {
            let rounds: Vec<(f64, Option<f64>, Option<u64>)> = samples[t][m]
                .iter()
                .map(|s| (s.mb_per_s, None, s.peak_kib))
                .collect();
            let server = match target.name {
                "uplift" => "uplift",
                "@tus/server" => "tus-node",
                other => other,
            };
            out.push(target_json(
                &format!("{} ({})", target.name, mode.label()),
                server,
                &rounds,
            ));
        }
    }
    let ratios: Vec<serde_json::Value> = modes
        .iter()
        .enumerate()
        .filter_map(|(m, mode)| {
            let med = |t: usize| -> Option<f64> {
                let v: Vec<f64> = samples[t][m].iter().map(|s| s.mb_per_s).collect();
                (!v.is_empty()).then(|| median(&v))
            };
            let (fastest, p) = (1..targets.len())
                .filter_map(|t| Some((t, med(t)?)))
                .max_by(|a, b| a.1.total_cmp(&b.1))?;
            let u = med(0)?;
            Some(serde_json::json!({
                "what": format!("uplift / {} ({})", targets[fastest].name, mode.label()),
                "value": u / p, "target": 2.0, "met": u / p >= 2.0,
            }))
        })
        .collect();
    crate::bench_load::write_results(&serde_json::json!({
        "scenario": "tus-large",
        "title": format!("tus 1.0: one {} MiB file", size / (1024 * 1024)),
        "unit": "MB/s",
        "date": crate::bench_load::utc_now(),
        "command": format!("cargo xtask bench large --runs {runs}"),
        "machine": crate::bench_load::machine_state(),
        "rounds": runs,
        "targets": out,
        "ratios": ratios,
    }))
}

/// One target of a large-file scenario as `bench/results/*.json` holds it: MB/s per round,
/// the server's CPU seconds for the file and its peak RSS.
fn target_json(
    name: &str,
    server: &str,
    rounds: &[(f64, Option<f64>, Option<u64>)],
) -> serde_json::Value {
    let per_s: Vec<f64> = rounds.iter().map(|r| r.0).collect();
    let cpu: Vec<f64> = rounds.iter().filter_map(|r| r.1).collect();
    let peak = rounds.iter().filter_map(|r| r.2).max();
    serde_json::json!({
        "name": name,
        "server": server,
        "workers": 1,
        "rounds": rounds.iter().map(|r| serde_json::json!({
            "per_s": r.0,
            "cpu_ms_per_op": r.1.map(|c| c * 1000.0),
            "peak_rss_kib": r.2,
            "ok": 1,
            "errors": 0,
        })).collect::<Vec<_>>(),
        "median": {
            "per_s": median(&per_s),
            "cpu_ms_per_op": (!cpu.is_empty()).then(|| median(&cpu) * 1000.0),
            "peak_rss_kib": peak,
        },
        "spread": {
            "min": per_s.iter().copied().fold(f64::INFINITY, f64::min),
            "max": per_s.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        },
    })
}
