//! `cargo xtask bench --storage s3`: the same random file (1 GiB by default) into the S3
//! bucket of `UPLIFT_S3_*` (Garage: `eval "$(tools/garage.sh start)"`), three ways, in
//! interleaved rounds of one run:
//!
//! - `straight PUT`: `curl -T` to a presigned PUT of the bucket (signed by `uplift-bench
//!   presign`, no Uplift server involved): the limit;
//! - `uplift direct`: prepare declaring the SHA-256, `curl -T` to the presigned bucket URL it
//!   answers, then `POST` the `completeUrl` (the two are timed together; prepare is not, as in
//!   the local bench);
//! - `uplift through server`: prepare without a SHA-256, `curl -T` to Uplift's own upload URL,
//!   which streams the body into the bucket (one part in memory, a multipart upload);
//! - `uplift direct in parts`: prepare declaring the SHA-256 on the bench server's second app
//!   (`/api/parts`, the default 64 MiB multipart threshold), its parts sent 4 at a time by
//!   `uplift-bench put-parts` (which also asks for the part URLs past the first 100), then
//!   `POST` the plan's `completeUrl` — where the server reads the object back once for its
//!   SHA-256 (timed together; prepare is not).
//!
//! Every answer's SHA-256 and size are checked; each object is removed after its upload. The
//! report gives MB/s, the ratios to the straight PUT, the request bytes the Uplift server took
//! in (the `Content-Length`s it was sent, counted by `uplift-bench`: the file's size through the
//! server, nothing but the small requests for the direct path), its CPU time and its peak RSS.
//! Targets:
//! direct ≥ 0.95× and through the server ≥ 0.80× of the straight PUT, peak RSS ≤ 32 MiB.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::bench::{
    build_server, clock_ticks, cpu_ticks, curl_json, curl_version, fmt_kib, fmt_secs, loadavg,
    median, reset_peak_rss, rss_kib, verdict, write_random_file, Args, Server,
};

const SLUG: &str = "benchFile";
const CONTENT_TYPE: &str = "application/octet-stream";
const TARGET_DIRECT: f64 = 0.95;
const TARGET_THROUGH: f64 = 0.80;
const TARGET_RSS_KIB: u64 = 32 * 1024;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Way {
    Straight,
    Direct,
    Through,
    Parts,
}

const WAYS: [Way; 4] = [Way::Straight, Way::Direct, Way::Through, Way::Parts];
/// Parts in flight at once on the direct multipart way (what the TS client sends).
const PART_CONCURRENCY: &str = "4";

impl Way {
    fn label(self) -> &'static str {
        match self {
            Way::Straight => "straight PUT to the bucket (curl)",
            Way::Direct => "uplift direct (presigned PUT + complete)",
            Way::Through => "uplift through the server (PUT)",
            Way::Parts => "uplift direct in parts (4 at once + complete)",
        }
    }
}

struct Sample {
    mb_per_s: f64,
    /// Bytes the Uplift server read during the upload (none for the straight PUT).
    server_read: Option<u64>,
    cpu_s: Option<f64>,
    peak_kib: Option<u64>,
}

pub fn run(args: &Args) -> Result<(), String> {
    if std::env::var("UPLIFT_S3_ENDPOINT").map_or(true, |v| v.is_empty()) {
        return Err(
            "--storage s3 needs a bucket in UPLIFT_S3_*: eval \"$(tools/garage.sh start)\"".into(),
        );
    }
    let curl = curl_version()?;
    let exe = build_server()?;
    let tmp = tempfile::Builder::new()
        .prefix("uplift-bench-s3-")
        .tempdir()
        .map_err(|e| format!("temporary directory: {e}"))?;
    let input = tmp.path().join("input.bin");
    let size = args.size_mib * 1024 * 1024;
    eprintln!("bench: writing {} MiB of random data", args.size_mib);
    let sha = write_random_file(&exe, &input, size)?;
    let server = Server::start(&exe, "uplift-s3", &tmp.path().join("uplift"), args)?;
    let bench = S3Bench {
        exe: &exe,
        tmp: tmp.path(),
        server: &server,
        ticks: clock_ticks(),
    };
    // Warm-up: connections, SQLite, the bucket.
    let warm = tmp.path().join("warm.bin");
    let warm_sha = write_random_file(&exe, &warm, 1024 * 1024)?;
    // (1 MiB is below the multipart threshold: the parts way warms up with the direct one.)
    for way in WAYS.into_iter().filter(|w| *w != Way::Parts) {
        bench.upload(way, &warm, 1024 * 1024, &warm_sha, 0)?;
    }
    let load_before = loadavg();
    let mut rows: Vec<[Option<Sample>; 4]> = Vec::new();
    for round in 0..args.runs {
        let mut row: [Option<Sample>; 4] = [None, None, None, None];
        for i in 0..WAYS.len() {
            let idx = (round + i) % WAYS.len();
            let s = bench.upload(WAYS[idx], &input, size, &sha, round + 1)?;
            eprintln!(
                "bench: round {}: {:<44} {:>8.1} MB/s  server received {}  peak RSS {}",
                round + 1,
                WAYS[idx].label(),
                s.mb_per_s,
                fmt_bytes(s.server_read),
                fmt_kib(s.peak_kib)
            );
            row[idx] = Some(s);
        }
        rows.push(row);
    }
    let load_after = loadavg();
    println!();
    println!(
        "Uplift S3 benchmark: {} MiB random file into {} (bucket {}), {} round(s), {curl}",
        args.size_mib,
        std::env::var("UPLIFT_S3_ENDPOINT").unwrap_or_default(),
        std::env::var("UPLIFT_S3_BUCKET").unwrap_or_default(),
        args.runs
    );
    println!("load average before {load_before} / after {load_after}; MB/s = 10^6 bytes/s of curl time_total");
    println!();
    println!(
        "{:<44} {:>9} {:>14} {:>11} {:>10}",
        "way (MB/s, median)", "MB/s", "received", "server CPU", "peak RSS"
    );
    let col = |i: usize| -> Vec<&Sample> { rows.iter().filter_map(|r| r[i].as_ref()).collect() };
    for (i, way) in WAYS.iter().enumerate() {
        let s = col(i);
        let mbs = median(&s.iter().map(|x| x.mb_per_s).collect::<Vec<_>>());
        let read = s.iter().filter_map(|x| x.server_read).max();
        let cpu = s.iter().filter_map(|x| x.cpu_s).collect::<Vec<_>>();
        let peak = s.iter().filter_map(|x| x.peak_kib).max();
        println!(
            "{:<44} {:>9.1} {:>14} {:>11} {:>10}",
            way.label(),
            mbs,
            fmt_bytes(read),
            fmt_secs((!cpu.is_empty()).then(|| median(&cpu))),
            fmt_kib(peak)
        );
    }
    let ratio = |i: usize| {
        median(
            &rows
                .iter()
                .filter_map(|r| Some(r[i].as_ref()?.mb_per_s / r[0].as_ref()?.mb_per_s))
                .collect::<Vec<_>>(),
        )
    };
    let (direct, through, parts) = (ratio(1), ratio(2), ratio(3));
    println!();
    println!(
        "ratio uplift direct / straight PUT: {direct:.3} (median of the rounds) — target ≥ {TARGET_DIRECT:.2}: {}",
        verdict(direct >= TARGET_DIRECT)
    );
    println!(
        "ratio uplift through the server / straight PUT: {through:.3} — target ≥ {TARGET_THROUGH:.2}: {}",
        verdict(through >= TARGET_THROUGH)
    );
    println!(
        "ratio uplift direct in parts / straight PUT: {parts:.3} (the completion reads the file back once; no target)"
    );
    let peak = rows
        .iter()
        .flat_map(|r| r[1..].iter().flatten())
        .filter_map(|s| s.peak_kib)
        .max();
    println!(
        "peak RSS uplift server: {} — target ≤ {}: {}",
        fmt_kib(peak),
        fmt_kib(Some(TARGET_RSS_KIB)),
        verdict(peak.is_some_and(|p| p <= TARGET_RSS_KIB))
    );
    Ok(())
}

fn fmt_bytes(b: Option<u64>) -> String {
    match b {
        None => "-".into(),
        Some(b) if b >= 1024 * 1024 => format!("{:.1} MiB", b as f64 / 1048576.0),
        Some(b) => format!("{:.1} KiB", b as f64 / 1024.0),
    }
}

/// Request bytes the Uplift server took in so far (`GET /bench/received` of `uplift-bench`).
fn received(origin: &str) -> Option<u64> {
    let out = Command::new("curl")
        .args(["-sS", &format!("{origin}/bench/received")])
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

struct S3Bench<'a> {
    exe: &'a Path,
    tmp: &'a Path,
    server: &'a Server,
    ticks: f64,
}

impl S3Bench<'_> {
    fn helper(&self, args: &[&str]) -> Result<String, String> {
        let out = Command::new(self.exe)
            .args(args)
            .stderr(Stdio::inherit())
            .output()
            .map_err(|e| format!("uplift-bench {args:?}: {e}"))?;
        if !out.status.success() {
            return Err(format!("uplift-bench {args:?} failed"));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn curl_json(&self, args: &[&str]) -> Result<(u16, f64, Value), String> {
        let r = curl_json(self.tmp, args)?;
        Ok((r.status, r.seconds, r.body))
    }

    fn prepare(&self, app: &str, size: u64, sha: Option<&str>) -> Result<Value, String> {
        let mut file =
            serde_json::json!({ "name": "random.bin", "size": size, "type": CONTENT_TYPE });
        if let Some(sha) = sha {
            file["sha256"] = sha.into();
        }
        let body = serde_json::json!({ "files": [file], "input": null }).to_string();
        let url = format!("{}/api/{app}/{SLUG}", self.server.origin);
        let (status, _, answer) = self.curl_json(&[
            "-X",
            "POST",
            "-H",
            "content-type: application/json",
            "--data-binary",
            &body,
            &url,
        ])?;
        if status != 200 {
            return Err(format!("prepare: HTTP {status} {answer}"));
        }
        Ok(answer["files"][0].clone())
    }

    /// One upload of `file` the `way` says; checked, then removed from the bucket.
    fn upload(
        &self,
        way: Way,
        file: &Path,
        size: u64,
        sha: &str,
        round: usize,
    ) -> Result<Sample, String> {
        let file_arg = file.to_str().ok_or("temporary path is not UTF-8")?;
        let pid = self.server.pid;
        // URLs are minted before measuring.
        let mut plan_file: Option<std::path::PathBuf> = None;
        let (url, headers, complete, key) = match way {
            Way::Parts => {
                let p = self.prepare("parts", size, Some(sha))?;
                let plan = &p["multipart"];
                let complete = plan["completeUrl"].as_str().map(str::to_string);
                if complete.is_none() {
                    return Err(format!(
                        "{}: prepare answered no multipart plan (files above 64 MiB get one): {p}",
                        way.label()
                    ));
                }
                let path = self.tmp.join("plan.json");
                std::fs::write(&path, plan.to_string()).map_err(|e| e.to_string())?;
                plan_file = Some(path);
                (
                    String::new(),
                    Vec::new(),
                    complete,
                    p["key"].as_str().unwrap_or_default().to_string(),
                )
            }
            Way::Straight => {
                let key = format!("straight-{round}-{}", std::process::id());
                let out = self.helper(&["presign", &key, &size.to_string(), sha])?;
                let mut lines = out.lines();
                let url = lines.next().ok_or("presign printed nothing")?.to_string();
                (
                    url,
                    lines.map(str::to_string).collect::<Vec<_>>(),
                    None,
                    key,
                )
            }
            Way::Direct | Way::Through => {
                let p = self.prepare("uploads", size, (way == Way::Direct).then_some(sha))?;
                let headers = p["headers"]
                    .as_object()
                    .map(|h| {
                        h.iter()
                            .map(|(k, v)| format!("{k}: {}", v.as_str().unwrap_or("")))
                            .collect()
                    })
                    .unwrap_or_default();
                let complete = p["completeUrl"].as_str().map(str::to_string);
                if (way == Way::Direct) != complete.is_some() {
                    return Err(format!("{}: prepare answered {p}", way.label()));
                }
                (
                    p["uploadUrl"].as_str().unwrap_or_default().to_string(),
                    headers,
                    complete,
                    p["key"].as_str().unwrap_or_default().to_string(),
                )
            }
        };
        let hwm = reset_peak_rss(pid);
        let read_before = received(&self.server.origin);
        let cpu_before = cpu_ticks(pid);
        let (status, mut secs, answer) = match &plan_file {
            Some(plan) => {
                let plan = plan.to_str().ok_or("temporary path is not UTF-8")?;
                let out = self.helper(&["put-parts", file_arg, plan, PART_CONCURRENCY])?;
                let secs: f64 = out
                    .trim()
                    .parse()
                    .map_err(|_| format!("put-parts printed {out:?}"))?;
                (200, secs, Value::Null)
            }
            None => {
                let mut args: Vec<&str> = vec!["-T", file_arg];
                for h in &headers {
                    args.extend(["-H", h.as_str()]);
                }
                args.push(&url);
                self.curl_json(&args)?
            }
        };
        if status != 200 {
            return Err(format!("{}: HTTP {status} {answer}", way.label()));
        }
        let mut answer = answer;
        if let Some(complete) = &complete {
            let (status, more, done) = self.curl_json(&["-X", "POST", complete])?;
            if status != 200 {
                return Err(format!("complete: HTTP {status} {done}"));
            }
            secs += more;
            answer = done;
        }
        let server_read = match (way, read_before, received(&self.server.origin)) {
            (Way::Straight, ..) => None,
            (_, Some(a), Some(b)) => Some(b.saturating_sub(a)),
            _ => None,
        };
        let cpu_s = match (way, cpu_before, cpu_ticks(pid)) {
            (Way::Straight, ..) => None,
            (_, Some(a), Some(b)) => Some(b.saturating_sub(a) as f64 / self.ticks),
            _ => None,
        };
        let peak_kib = if hwm && way != Way::Straight {
            rss_kib(pid, "VmHWM:")
        } else {
            None
        };
        if way != Way::Straight {
            let f = &answer["file"];
            if f["sha256"].as_str() != Some(sha) || f["size"].as_u64() != Some(size) {
                return Err(format!("{}: the server answered {f}", way.label()));
            }
        }
        self.helper(&["rm", &key])?;
        std::thread::sleep(Duration::from_millis(300));
        Ok(Sample {
            mb_per_s: size as f64 / secs / 1e6,
            server_read,
            cpu_s,
            peak_kib,
        })
    }
}
