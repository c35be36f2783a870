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
//! Options: `--size-mib N` (default 1024), `--runs N` (default 3), `--workers N` (actix workers
//! per server, default 1), `--baseline-buffer BYTES` (the baseline's BufWriter, default 256 KiB).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Issue 2's targets.
const TARGET_RATIO: f64 = 0.90;
const TARGET_RSS_KIB: u64 = 16 * 1024;

const SLUG: &str = "benchFile";
const CONTENT_TYPE: &str = "application/octet-stream";

struct Args {
    size_mib: u64,
    runs: usize,
    workers: usize,
    baseline_buffer: Option<usize>,
}

fn parse_args(args: &[String]) -> Result<Args, String> {
    let mut parsed = Args {
        size_mib: 1024,
        runs: 3,
        workers: 1,
        baseline_buffer: None,
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        if flag == "--help" || flag == "-h" {
            return Err(
                "usage: cargo xtask bench [--size-mib N] [--runs N] [--workers N] \
                        [--baseline-buffer BYTES]"
                    .into(),
            );
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let n: u64 = value
            .parse()
            .map_err(|_| format!("{flag}: not a number: {value}"))?;
        if n == 0 {
            return Err(format!("{flag} must be at least 1"));
        }
        match flag.as_str() {
            "--size-mib" => parsed.size_mib = n,
            "--runs" => parsed.runs = n as usize,
            "--workers" => parsed.workers = n as usize,
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
    let args = parse_args(args)?;
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

    let uplift = Server::start(&exe, "uplift", &tmp.path().join("uplift"), &args)?;
    let baseline = Server::start(&exe, "baseline", &tmp.path().join("baseline"), &args)?;
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
    let lifetime_hwm = [
        rss_kib(uplift.pid, "VmHWM:"),
        rss_kib(baseline.pid, "VmHWM:"),
    ];
    drop(uplift);
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
    report(&args, &samples, &env);
    Ok(())
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

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "MISSED"
    }
}

fn median(values: &[f64]) -> f64 {
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

fn fmt_secs(secs: Option<f64>) -> String {
    match secs {
        Some(s) => format!("{s:.2} s"),
        None => "n/a".into(),
    }
}

fn fmt_kib(kib: Option<u64>) -> String {
    match kib {
        Some(k) => format!("{:.1} MiB", k as f64 / 1024.0),
        None => "n/a".into(),
    }
}

/// `cargo build --release -p uplift-bench`; returns the binary's path.
fn build_server() -> Result<PathBuf, String> {
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

fn curl_version() -> Result<String, String> {
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
fn write_random_file(exe: &Path, path: &Path, size: u64) -> Result<String, String> {
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
struct Server {
    child: Child,
    pid: u32,
    /// `http://127.0.0.1:PORT`
    origin: String,
    dir: PathBuf,
    _stdout: BufReader<ChildStdout>,
}

impl Server {
    fn start(exe: &Path, mode: &str, dir: &Path, args: &Args) -> Result<Server, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut cmd = Command::new(exe);
        cmd.arg(mode)
            .arg(dir)
            .arg("--workers")
            .arg(args.workers.to_string());
        if let Some(b) = args.baseline_buffer {
            cmd.arg("--buffer").arg(b.to_string());
        }
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
struct Response {
    status: u16,
    seconds: f64,
    body: Value,
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

    /// Runs curl with `args`; the answer goes to a file, status and timing to stdout.
    fn curl(&self, args: &[&str]) -> Result<Response, String> {
        let body_path = self.tmp.join("response.json");
        let out = Command::new("curl")
            .args(["-sS", "-H", "Expect:", "-o"])
            .arg(&body_path)
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
        let raw = std::fs::read(&body_path).unwrap_or_default();
        let body = serde_json::from_slice(&raw)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&raw).into()));
        Ok(Response {
            status,
            seconds,
            body,
        })
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
fn reset_peak_rss(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

/// A `kB` field of `/proc/PID/status` (`VmRSS:`, `VmHWM:`).
fn rss_kib(pid: u32, field: &str) -> Option<u64> {
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
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may contain spaces: utime and
    // stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "n/a".into())
}
