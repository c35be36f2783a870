// Starts the real demo server for the test run: builds it with cargo, runs it on a free port
// with a fresh data dir and a fixed secret, waits until it answers, and stops it afterwards.
//
// `UPLIFT_DEMO_BIN=/path/to/uplift-demo` skips the build.

import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    /** `http://127.0.0.1:<port>`: the demo's origin. */
    origin: string;
    /** The demo's data dir (files under `files/`). */
    dataDir: string;
    /** The origin of a second demo storing in the S3 bucket of `UPLIFT_S3_*`, or "" without one. */
    s3Origin: string;
  }
}

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const BUILD_TIMEOUT_MS = 15 * 60_000;
const READY_TIMEOUT_MS = 60_000;

/** Builds the demo and returns its executable, from cargo's own JSON messages. */
function buildDemo(): Promise<string> {
  return new Promise((resolvePath, reject) => {
    const cargo = spawn("cargo", ["build", "-p", "uplift-demo", "--message-format=json-render-diagnostics"], {
      cwd: repoRoot,
      stdio: ["ignore", "pipe", "inherit"],
    });
    const timer = setTimeout(() => {
      cargo.kill("SIGKILL");
      reject(new Error(`cargo build -p uplift-demo took longer than ${BUILD_TIMEOUT_MS / 1000} s`));
    }, BUILD_TIMEOUT_MS);
    let executable: string | undefined;
    let pending = "";
    cargo.stdout!.setEncoding("utf8");
    cargo.stdout!.on("data", (chunk: string) => {
      pending += chunk;
      const lines = pending.split("\n");
      pending = lines.pop()!;
      for (const line of lines) {
        if (!line.startsWith("{")) continue;
        try {
          const msg = JSON.parse(line) as { reason?: string; target?: { name?: string }; executable?: string | null };
          if (msg.reason === "compiler-artifact" && msg.target?.name === "uplift-demo" && msg.executable) {
            executable = msg.executable;
          }
        } catch {
          // not a cargo message
        }
      }
    });
    cargo.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    cargo.on("exit", (code) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`cargo build -p uplift-demo failed (exit ${code})`));
      else if (!executable) reject(new Error("cargo built uplift-demo but named no executable"));
      else resolvePath(executable);
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once("error", rej);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => res(port));
    });
  });
}

async function waitReady(origin: string, child: ChildProcess, logPath: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let exited: number | null | undefined;
  child.once("exit", (code) => {
    exited = code;
  });
  while (Date.now() < deadline) {
    if (exited !== undefined) {
      throw new Error(`the demo exited with ${exited} while starting:\n${tail(logPath)}`);
    }
    try {
      const res = await fetch(`${origin}/api/uploads`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the demo did not answer within ${READY_TIMEOUT_MS / 1000} s:\n${tail(logPath)}`);
}

function tail(path: string): string {
  try {
    return readFileSync(path, "utf8").split("\n").slice(-30).join("\n");
  } catch {
    return "(no log)";
  }
}

interface Running {
  origin: string;
  dataDir: string;
  stop(): Promise<void>;
}

/** Starts the demo on a free port with a fresh data dir and `env` over the inherited one. */
async function startDemo(bin: string, env: Record<string, string>): Promise<Running> {
  const dataDir = mkdtempSync(join(tmpdir(), "uplift-client-test-"));
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const logPath = join(dataDir, "demo.log");
  const log = createWriteStream(logPath);
  const child = spawn(bin, [], {
    cwd: dataDir,
    env: {
      ...process.env,
      UPLIFT_DATA_DIR: join(dataDir, "data"),
      UPLIFT_BIND: `127.0.0.1:${port}`,
      UPLIFT_SECRET: randomBytes(32).toString("hex"),
      DATABASE_URL: "",
      UPLIFT_PUBLIC_URL: "",
      RUST_LOG: process.env.RUST_LOG ?? "info",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  try {
    await waitReady(origin, child, logPath);
  } catch (e) {
    child.kill("SIGKILL");
    throw e;
  }
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    }
    log.end();
    if (process.env.UPLIFT_KEEP_TEST_DATA) {
      console.log(`demo data and log kept in ${dataDir}`);
    } else {
      rmSync(dataDir, { recursive: true, force: true });
    }
  };
  return { origin, dataDir: join(dataDir, "data"), stop };
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const bin = process.env.UPLIFT_DEMO_BIN || (await buildDemo());
  // The main demo keeps its files on local disk, whatever the environment says about S3.
  const local = await startDemo(bin, { UPLIFT_S3_ENDPOINT: "" });
  project.provide("origin", local.origin);
  project.provide("dataDir", local.dataDir);
  // A second demo stores in the bucket of `UPLIFT_S3_*`, when there is one.
  let s3: Running | undefined;
  if (process.env.UPLIFT_S3_ENDPOINT) {
    s3 = await startDemo(bin, {
      UPLIFT_S3_KEY_PREFIX: `vitest-${randomBytes(6).toString("hex")}/`,
      // Files above 8 MiB go to the bucket in parts (so a test file of a few tens of MiB does).
      UPLIFT_DIRECT_MULTIPART_THRESHOLD: String(8 * 1024 * 1024),
    });
  } else if (process.env.UPLIFT_REQUIRE_S3 === "1") {
    throw new Error("UPLIFT_REQUIRE_S3=1 but UPLIFT_S3_ENDPOINT is not set");
  }
  project.provide("s3Origin", s3?.origin ?? "");

  return async () => {
    await local.stop();
    await s3?.stop();
  };
}
