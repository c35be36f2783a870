// The demo page in a real browser: Debian's Chromium (/usr/bin/chromium) driven by
// playwright-core, against the real demo server (its built binary, a temporary data dir, a free
// port). A plain Node script: each check prints ok/FAIL, the last line is `N passed, M failed`,
// and the exit code is non-zero when anything failed. Every wait is bounded.
//
//   npm run test:e2e            (from the repo root or examples/demo/web)
//
// It builds the page (`vite build`) and the demo binary (`cargo build -p uplift-demo`) first.
// Environment (all optional):
//   CHROMIUM_PATH          the browser (default /usr/bin/chromium; `apt-get install -y chromium`)
//   UPLIFT_DEMO_BIN        a built demo binary to use instead of building one
//   UPLIFT_E2E_SKIP_BUILD  1: use examples/demo/web/dist as it is
//   UPLIFT_E2E_KEEP        1: keep the temporary data dir and print where it is
//   UPLIFT_S3_*            a bucket (`eval "$(tools/garage.sh start)"`): a second demo stores
//                          there, and a large file goes from the page straight to it in parts
//                          (required when UPLIFT_REQUIRE_S3=1)

import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  closeSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { deflateSync } from "node:zlib";
import assert from "node:assert/strict";

import { build as esbuild } from "esbuild";
import { chromium } from "playwright-core";

const WEB = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const ROOT = resolve(WEB, "../../..");
const ARTIFACTS = join(WEB, "e2e/artifacts");
const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const TOTAL_TIMEOUT_MS = 10 * 60 * 1000; // builds included
const USER = "e2e-ann";
const MB = 1024 * 1024;

const log = (...args) => console.log(...args);

// axe-core (pinned in package.json), injected into each page to audit it.
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
/** WCAG 2.0, 2.1 and 2.2, levels A and AA. */
const AXE_VERSION = JSON.parse(readFileSync(createRequire(import.meta.url).resolve("axe-core/package.json"), "utf8")).version;
const AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"];

// --- a watchdog, so a hang can never outlive the run -----------------------------------------
const cleanups = [];
const watchdog = setTimeout(() => {
  console.error(`e2e: the whole run took longer than ${TOTAL_TIMEOUT_MS / 1000}s; giving up`);
  for (const c of cleanups.reverse()) {
    try {
      c();
    } catch {
      // best effort
    }
  }
  console.log("0 passed, 1 failed");
  process.exit(1);
}, TOTAL_TIMEOUT_MS);
watchdog.unref();

// --- helpers ---------------------------------------------------------------------------------
function sh(cmd, args, opts = {}) {
  log(`$ ${cmd} ${args.join(" ")}`);
  const r = spawnSync(cmd, args, { stdio: ["ignore", "inherit", "inherit"], timeout: 8 * 60 * 1000, ...opts });
  if (r.error) throw new Error(`${cmd} could not run: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited with ${r.status ?? r.signal}`);
  return r;
}

/** The demo binary: UPLIFT_DEMO_BIN, or what `cargo build -p uplift-demo` says it built. */
function demoBinary() {
  if (process.env.UPLIFT_DEMO_BIN) return process.env.UPLIFT_DEMO_BIN;
  log("$ cargo build -p uplift-demo --message-format=json-render-diagnostics");
  const r = spawnSync("cargo", ["build", "-p", "uplift-demo", "--message-format=json-render-diagnostics"], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "inherit"],
    encoding: "utf8",
    maxBuffer: 64 * MB,
    timeout: 15 * 60 * 1000,
  });
  if (r.status !== 0) throw new Error(`cargo build -p uplift-demo failed (${r.status ?? r.signal ?? r.error})`);
  for (const line of r.stdout.split("\n")) {
    if (!line.startsWith("{")) continue;
    const msg = JSON.parse(line);
    if (msg.reason === "compiler-artifact" && msg.target?.name === "uplift-demo" && msg.executable) {
      return msg.executable;
    }
  }
  throw new Error("cargo did not report the uplift-demo executable");
}

/** Starts the demo on a free port with its own data dir; resolves once it listens. */
async function startDemo(bin, dataDir, env = {}) {
  const child = spawn(bin, [], {
    env: {
      ...process.env,
      UPLIFT_DATA_DIR: dataDir,
      // Local disk, whatever the environment says about S3 (unless `env` says otherwise).
      UPLIFT_S3_ENDPOINT: "",
      UPLIFT_BIND: "127.0.0.1:0",
      UPLIFT_DEMO_WEB_DIR: join(WEB, "dist"),
      RUST_LOG: "warn,uplift_demo=info",
      NO_COLOR: "1",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output = [];
  const url = await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`the demo did not start within 30s:\n${output.join("")}`)), 30_000);
    const onData = (chunk) => {
      const text = chunk.toString();
      output.push(text);
      const m = /listening on (127\.0\.0\.1:\d+)/.exec(output.join(""));
      if (m) {
        clearTimeout(timer);
        ok(`http://${m[1]}`);
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("exit", (code) => {
      clearTimeout(timer);
      fail(new Error(`the demo exited (${code}) before listening:\n${output.join("")}`));
    });
  });
  // Go on reading so the pipes never fill; keep the tail for failure reports.
  const keep = (chunk) => {
    output.push(chunk.toString());
    if (output.length > 400) output.splice(0, output.length - 400);
  };
  child.stdout.removeAllListeners("data").on("data", keep);
  child.stderr.removeAllListeners("data").on("data", keep);
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    const exited = await Promise.race([
      new Promise((ok) => child.once("exit", () => ok(true))),
      new Promise((ok) => setTimeout(() => ok(false), 5000)),
    ]);
    if (!exited) child.kill("SIGKILL");
  };
  cleanups.push(() => child.kill("SIGKILL"));
  return { url, stop, output: () => output.join("") };
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}
/** A real RGB PNG: a diagonal gradient, so the preview visibly shows it. */
function png(width, height) {
  const rows = [];
  for (let y = 0; y < height; y++) {
    const row = Buffer.alloc(1 + width * 3);
    for (let x = 0; x < width; x++) {
      row[1 + x * 3] = Math.round((x / width) * 255);
      row[2 + x * 3] = Math.round((y / height) * 200) + 40;
      row[3 + x * 3] = 220;
    }
    rows.push(row);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(Buffer.concat(rows))),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

/** A sparse file of `size` bytes that starts like an MP4 (an `ftyp` box), so it sniffs as video/mp4. */
function mp4File(path, size) {
  const fd = openSync(path, "w");
  const ftyp = Buffer.from([
    0, 0, 0, 0x18, 0x66, 0x74, 0x79, 0x70, 0x6d, 0x70, 0x34, 0x32, 0, 0, 0, 0, 0x6d, 0x70, 0x34, 0x32, 0x69, 0x73,
    0x6f, 0x6d,
  ]);
  writeSync(fd, ftyp, 0, ftyp.length, 0);
  writeSync(fd, Buffer.from([0]), 0, 1, size - 1);
  closeSync(fd);
}

/** Every file under `dir` with its size. */
function filesUnder(dir) {
  const out = [];
  if (!existsSync(dir)) return out;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(p));
    else if (entry.isFile()) out.push({ path: p, size: statSync(p).size });
  }
  return out;
}

async function until(what, fn, timeoutMs = 15_000, everyMs = 100) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}${last ? `: ${last.message}` : ""}`);
    await new Promise((ok) => setTimeout(ok, everyMs));
  }
}

/**
 * Runs axe-core's WCAG 2 A/AA rules on the page as it is now (every frame included) and throws
 * when anything is violated, with each violation and the elements that break it. The script
 * goes in through the DevTools protocol, so the page's CSP (no inline scripts) stays as it is.
 */
async function axeAudit(p, label) {
  for (const frame of p.frames()) {
    await frame.evaluate(`${AXE_SOURCE}\n;void 0`);
  }
  const { rules, violations } = await p.evaluate(async (tags) => {
    const result = await window.axe.run(document, {
      runOnly: { type: "tag", values: tags },
      resultTypes: ["violations"],
    });
    const rules = result.passes.length + result.violations.length + result.incomplete.length;
    const violations = result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => ({ target: n.target.join(" "), summary: n.failureSummary })),
    }));
    return { rules, violations };
  }, AXE_TAGS);
  if (violations.length === 0) {
    log(`     axe ${AXE_VERSION}: ${label}: ${rules} applicable rules, no violations`);
    return;
  }
  const lines = [];
  for (const v of violations) {
    lines.push(`${v.id} (${v.impact}): ${v.help} — ${v.nodes.length} element(s)`);
    for (const n of v.nodes) lines.push(`  ${n.target}\n    ${String(n.summary).split("\n").join("\n    ")}`);
  }
  const count = violations.reduce((sum, v) => sum + v.nodes.length, 0);
  throw new Error(`axe: ${label}: ${count} violation(s) of WCAG 2 A/AA\n${lines.join("\n")}`);
}

/** Chromium logs every 4xx; signed out, the activity list's, My files' and My folder's 401 are the expected answers. */
function signedOutActivity(message) {
  const path = new URL(message.location().url || "about:blank", "http://x").pathname;
  return / 401 /.test(message.text()) && ["/api/demo/activity", "/api/uploads/files", "/api/demo/token"].includes(path);
}

// --- the run ---------------------------------------------------------------------------------
const results = [];
/** Limits the page's upload bandwidth (bytes/s) until the returned function is called. */
async function throttle(page, bytesPerSecond) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.enable");
  const conditions = (up) => ({ offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: up });
  await cdp.send("Network.emulateNetworkConditions", conditions(bytesPerSecond));
  return async () => {
    await cdp.send("Network.emulateNetworkConditions", conditions(-1));
    await cdp.detach();
  };
}

/** Chooses `path` (listed as `name`) on the mediaPost route with `caption`, presses Upload: its progress bar. */
async function uploadMedia(route, path, name, caption) {
  await route.getByLabel("Caption").fill(caption);
  await route.locator("input[type=file]").setInputFiles(path);
  await route.locator(".uplift-files li", { hasText: name }).waitFor();
  await route.getByRole("button", { name: "Upload 1 file" }).click();
  return route.locator("progress.uplift-progress-bar");
}

/** Once the upload is 10–60% done, presses Pause and checks nothing moves: the paused percentage. */
async function pauseMidway(route, bar) {
  await until("the upload to be under way", async () => {
    const v = await bar.evaluate((p) => p.value);
    return v >= 10 && v < 60 ? v : 0;
  }, 60_000, 50);
  await route.getByRole("button", { name: "Pause" }).click();
  await route.getByRole("button", { name: "Resume" }).waitFor();
  const paused = await bar.evaluate((p) => p.value);
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(await bar.evaluate((p) => p.value), paused, "nothing moves while paused");
  assert.ok(paused < 100, `paused at ${paused}%`);
  return paused;
}

async function check(name, fn) {
  const started = Date.now();
  try {
    await fn();
    results.push({ name, ok: true });
    log(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (error) {
    results.push({ name, ok: false, error });
    log(`FAIL ${name} (${Date.now() - started} ms)\n     ${String(error?.stack ?? error).split("\n").join("\n     ")}`);
  }
}

async function main() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no browser at ${CHROMIUM}: install Debian's Chromium with \`apt-get install -y chromium\` (or set CHROMIUM_PATH)`);
  }
  if (process.env.UPLIFT_E2E_SKIP_BUILD !== "1") sh("npm", ["run", "build"], { cwd: WEB });
  assert.ok(existsSync(join(WEB, "dist/index.html")), "the page is built (examples/demo/web/dist/index.html)");
  const bin = demoBinary();

  const work = mkdtempSync(join(tmpdir(), "uplift-e2e-"));
  const dataDir = join(work, "data");
  if (process.env.UPLIFT_E2E_KEEP === "1") log(`e2e: data dir ${dataDir}`);
  else cleanups.push(() => rmSync(work, { recursive: true, force: true }));
  mkdirSync(ARTIFACTS, { recursive: true });

  const demo = await startDemo(bin, dataDir);
  log(`e2e: demo at ${demo.url}, data in ${dataDir}`);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 30_000,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  cleanups.push(() => browser.close().catch(() => {}));
  const context = await browser.newContext({ viewport: { width: 1200, height: 1000 }, acceptDownloads: false });
  context.setDefaultTimeout(15_000);
  context.setDefaultNavigationTimeout(20_000);
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" && !signedOutActivity(m)) problems.push(`console error: ${m.text()}`);
  });
  const requests = [];
  page.on("request", (r) => requests.push({ method: r.method(), url: r.url() }));

  try {
    await check("axe: the React page at /, signed out, has no WCAG 2 A/AA violations", async () => {
      await page.goto(`${demo.url}/`);
      for (const slug of ["profilePicture", "messageAttachment", "mediaPost", "documentReview"]) {
        await page.locator(`#route-${slug} .uplift-allowed`).waitFor();
      }
      await page.locator(".activity li", { hasText: "Sign in to see what the hooks did with your uploads." }).waitFor();
      await axeAudit(page, "/ signed out");
    });

    await check("the React page is served at / and signs in with the /login cookie", async () => {
      await page.goto(`${demo.url}/`);
      await page.getByRole("heading", { level: 1, name: "Uplift demo" }).waitFor();
      for (const slug of ["profilePicture", "messageAttachment", "mediaPost", "documentReview"]) {
        await page.locator(`#route-${slug} .uplift-root`).waitFor();
      }
      // The route config arrived: the accepted types are described in words.
      await page.locator("#route-profilePicture .uplift-allowed", { hasText: "Image up to 2 MB" }).waitFor();
      assert.equal(await page.locator("#route-profilePicture input[type=file]").getAttribute("accept"), "image/*");
      await page.locator("#signin-name").fill(USER);
      await Promise.all([page.waitForURL(`${demo.url}/`), page.getByRole("button", { name: "Sign in" }).click()]);
      await page.locator("#who", { hasText: `Signed in as ${USER}.` }).waitFor();
    });

    await check("profilePicture: a chosen image goes to 100% and its server data is shown", async () => {
      const route = page.locator("#route-profilePicture");
      const seen = [];
      const sampler = setInterval(() => {
        route
          .locator("progress.uplift-progress-bar")
          .evaluate((p) => p.value)
          .then((v) => seen.push(v))
          .catch(() => {});
      }, 20);
      try {
        await route.locator("input[type=file]").setInputFiles({ name: "avatar.png", mimeType: "image/png", buffer: png(320, 200) });
        await route.locator(".uplift-status[data-state=complete]", { hasText: "Upload complete." }).waitFor();
      } finally {
        clearInterval(sampler);
      }
      assert.equal(await route.locator("progress.uplift-progress-bar").evaluate((p) => p.value), 100);
      await route.locator(".uplift-progress-value", { hasText: "100%" }).waitFor();
      for (let i = 1; i < seen.length; i++) assert.ok(seen[i] >= seen[i - 1], `progress went back: ${seen.join(",")}`);
      const data = JSON.parse(await route.locator(".server-data pre").textContent());
      assert.equal(data.uploadedBy, USER);
      assert.match(data.url, /\/api\/uploads\/download\//);
      await route.getByText(`New profile picture of ${USER}.`).waitFor();
      const img = route.locator(".file img");
      await until("the uploaded image to load", () => img.evaluate((el) => el.complete && el.naturalWidth === 320));
      await page.screenshot({ path: join(ARTIFACTS, "after-upload.png"), fullPage: true });
    });

    await check("profilePicture: a dropped 3 MB image is refused in words, before any request", async () => {
      const route = page.locator("#route-profilePicture");
      const before = requests.length;
      const dataTransfer = await page.evaluateHandle((size) => {
        const bytes = new Uint8Array(size);
        bytes.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
        const dt = new DataTransfer();
        dt.items.add(new File([bytes], "huge.png", { type: "image/png" }));
        return dt;
      }, 3 * MB);
      const zone = route.locator(".uplift-root");
      await zone.dispatchEvent("dragenter", { dataTransfer });
      await zone.dispatchEvent("dragover", { dataTransfer });
      await zone.dispatchEvent("drop", { dataTransfer });
      const status = route.locator(".uplift-status[data-state=error]");
      await status.waitFor();
      const text = await status.textContent();
      assert.match(text, /^TOO_LARGE: file 0 is 3145728 bytes; image files may be at most 2097152 bytes/);
      assert.equal(await status.getAttribute("data-code"), "TOO_LARGE");
      await route.screenshot({ path: join(ARTIFACTS, "refused.png") });
      // (My folder refreshes its listing token after uploads: that is not the refused file.)
      const sent = requests.slice(before).filter((r) => r.method !== "GET" && !r.url.endsWith("/api/demo/token"));
      assert.deepEqual(sent, [], "the client-side check refuses before any request");
    });

    await check("keyboard: Tab reaches a route's button, its focus is visible, Enter opens the file chooser", async () => {
      // Listening before any key is pressed: Playwright intercepts choosers once it listens.
      const choosers = [];
      const onChooser = (c) => choosers.push(c);
      page.on("filechooser", onChooser);
      const button = page.locator("#route-documentReview .uplift-button");
      await page.locator("#route-profilePicture .uplift-button").focus();
      for (let i = 0; i < 12 && !(await button.evaluate((b) => b === document.activeElement)); i++) {
        await page.keyboard.press("Tab");
      }
      assert.ok(await button.evaluate((b) => b === document.activeElement), "Tab reached documentReview's button");
      assert.ok(await button.evaluate((b) => b.matches(":focus-visible")), "focus is visible");
      assert.notEqual(await button.evaluate((b) => getComputedStyle(b).outlineStyle), "none");
      await page.keyboard.press("Enter");
      const chooser = await until("Enter to open the file chooser", () => choosers[0], 5000, 50);
      page.off("filechooser", onChooser);
      assert.equal(chooser.isMultiple(), false);
      const pdf = Buffer.from(
        "%PDF-1.4\n1 0 obj<</Type /Catalog /Pages 2 0 R>>endobj\n2 0 obj<</Type /Pages /Kids [3 0 R 4 0 R] /Count 2>>endobj\n" +
          "3 0 obj<</Type /Page /Parent 2 0 R>>endobj\n4 0 obj<</Type /Page /Parent 2 0 R>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n",
      );
      await chooser.setFiles({ name: "contract.pdf", mimeType: "application/pdf", buffer: pdf });
      const route = page.locator("#route-documentReview");
      await route.locator(".uplift-status[data-state=complete]").waitFor();
      const ticket = JSON.parse(await route.locator(".server-data pre").textContent());
      assert.equal(ticket.submittedBy, USER);
      assert.equal(ticket.pagesEstimate, 2);
      assert.match(ticket.reviewId, /^rev_/);
    });

    await check("messageAttachment: a pasted image uploads, and the background hook's server data shows up", async () => {
      const route = page.locator("#route-messageAttachment");
      const image = png(64, 64).toString("base64");
      await route.locator(".uplift-button").focus();
      await page.evaluate((b64) => {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const dt = new DataTransfer();
        dt.items.add(new File([bytes], "pasted.png", { type: "image/png" }));
        document.activeElement.dispatchEvent(new ClipboardEvent("paste", { clipboardData: dt, bubbles: true, cancelable: true }));
      }, image);
      await route.locator(".uplift-status[data-state=complete]").waitFor();
      const pre = route.locator(".server-data pre");
      await pre.waitFor({ timeout: 15_000 });
      const data = JSON.parse(await pre.textContent());
      assert.equal(data.attachedBy, USER);
      assert.equal(data.kind, "image");
      assert.match(data.messageId, /^msg_/);
    });

    await check("mediaPost: a 200 MB video cancelled mid-way shows cancelled and nothing is stored", async () => {
      const route = page.locator("#route-mediaPost");
      const video = join(work, "clip.mp4");
      mp4File(video, 200 * MB);
      // Loopback is fast; slow the upload down so that "mid-way" lasts a few seconds.
      const unthrottle = await throttle(page, 40 * MB);
      const before = requests.length;
      const bar = await uploadMedia(route, video, "clip.mp4", "A long clip, cancelled");
      const at = await until("the upload to be under way", async () => {
        const v = await bar.evaluate((p) => p.value);
        return v >= 5 && v < 90 ? v : 0;
      }, 60_000, 50);
      const button = route.locator(".uplift-button[data-state=uploading]");
      assert.match(await button.textContent(), /^Cancel · \d+%$/);
      await route.screenshot({ path: join(ARTIFACTS, "uploading.png") });
      await button.click();
      await route.locator(".uplift-status[data-state=cancelled]", { hasText: "Upload cancelled." }).waitFor();
      await route.screenshot({ path: join(ARTIFACTS, "cancelled.png") });
      const after = await bar.evaluate((p) => p.value);
      assert.ok(after < 100, `cancelled at ${at}%, bar at ${after}%`);
      await unthrottle();

      // The key of the cancelled upload, from its tus PATCH (`{base}/tus/{key}.{capability}`):
      // a 200 MB file goes over tus.
      const patch = requests.slice(before).find((r) => r.method === "PATCH" && r.url.includes("/api/uploads/tus/"));
      assert.ok(patch, "a tus PATCH was sent");
      const key = decodeURIComponent(new URL(patch.url).pathname.split("/").pop()).split(".")[0];
      // Nothing visible: the status is not complete, and no file of 1 MB or more is in the data dir.
      const status = await until("the server to drop the interrupted upload", async () => {
        const res = await fetch(`${demo.url}/api/uploads/files/${encodeURIComponent(key)}`, { headers: { "x-user": USER } });
        const body = await res.json();
        const big = filesUnder(dataDir).filter((f) => f.size >= MB);
        return body.status !== "pending" && body.status !== "uploading" && big.length === 0 ? body : null;
      }, 15_000, 200);
      assert.notEqual(status.status, "complete", JSON.stringify(status));
      assert.equal(status.file ?? null, null, `no stored file: ${JSON.stringify(status)}`);
      const named = filesUnder(dataDir).filter((f) => f.path.includes(key));
      assert.deepEqual(named, [], "no file under the data dir carries the key");
      log(`     cancelled at ${at}%; the server says ${status.status}${status.error ? ` (${status.error.code})` : ""}`);
    });

    await check("mediaPost: a 120 MB video over tus pauses, resumes from the server's offset and completes", async () => {
      const route = page.locator("#route-mediaPost");
      const video = join(work, "long.mp4");
      const size = 120 * MB;
      mp4File(video, size);
      const unthrottle = await throttle(page, 30 * MB);
      const before = requests.length;
      const bar = await uploadMedia(route, video, "long.mp4", "A long clip, paused");
      const paused = await pauseMidway(route, bar);
      await route.screenshot({ path: join(ARTIFACTS, "paused.png") });
      await unthrottle();
      await route.getByRole("button", { name: "Resume" }).click();
      await route.locator(".uplift-status[data-state=complete]").waitFor({ timeout: 60_000 });
      const sent = requests.slice(before);
      const creations = sent.filter((r) => r.method === "POST" && r.url.endsWith("/api/uploads/mediaPost/tus"));
      assert.equal(creations.length, 1, "one tus upload, resumed rather than started over");
      const heads = sent.filter((r) => r.method === "HEAD" && r.url.includes("/api/uploads/tus/"));
      assert.ok(heads.length >= 1, "the resume asked the server for its offset (HEAD)");
      const patch = sent.find((r) => r.method === "PATCH" && r.url.includes("/api/uploads/tus/"));
      const key = decodeURIComponent(new URL(patch.url).pathname.split("/").pop()).split(".")[0];
      const stored = join(dataDir, "files", key);
      assert.equal(statSync(stored).size, size);
      const digest = (path) => createHash("sha256").update(readFileSync(path)).digest("hex");
      assert.equal(digest(stored), digest(video), "the stored file is the chosen one, byte for byte");
      log(`     paused at ${paused}%, resumed to completion (${heads.length} HEAD)`);
    });

    await check("Uppy (@uppy/core + @uppy/tus) uploads to the mediaPost tus endpoint from the page", async () => {
      const bundle = await esbuild({
        entryPoints: [join(WEB, "e2e/uppy-entry.mjs")],
        bundle: true,
        format: "iife",
        platform: "browser",
        write: false,
        logLevel: "error",
      });
      // The page's CSP allows no inline script: Uppy runs in a page of its own on the demo's origin.
      const uppyContext = await browser.newContext({ bypassCSP: true });
      const uppyPage = await uppyContext.newPage();
      await uppyPage.goto(`${demo.url}/`);
      await uppyPage.addScriptTag({ content: bundle.outputFiles[0].text });
      const size = 3 * MB + 17;
      const { uploadURL, sha } = await uppyPage.evaluate(
        ([endpoint, user, n]) => window.uploadWithUppy(endpoint, user, n, "from Uppy"),
        [`${demo.url}/api/uploads/mediaPost/tus`, USER, size],
      );
      assert.match(uploadURL, /\/api\/uploads\/tus\//);
      const key = decodeURIComponent(new URL(uploadURL).pathname.split("/").pop()).split(".")[0];
      const stored = join(dataDir, "files", key);
      assert.equal(statSync(stored).size, size);
      assert.equal(createHash("sha256").update(readFileSync(stored)).digest("hex"), sha);
      const res = await fetch(`${demo.url}/api/uploads/files/${encodeURIComponent(key)}`, { headers: { "x-user": USER } });
      const body = await res.json();
      assert.equal(body.file?.size, size, JSON.stringify(body));
      await uppyContext.close();
    });

    await check("axe: the React page after the uploads (statuses, server data, a refusal, activity) has no violations", async () => {
      // The activity list shows this user's own hook events, and nobody else's.
      await page.getByRole("button", { name: "Refresh" }).click();
      await page.locator(".activity li", { hasText: `${USER}: new profile picture` }).waitFor();
      const users = await page.locator(".activity li").evaluateAll((lis) => lis.map((li) => li.textContent));
      assert.ok(users.every((t) => t.includes(`${USER}: `)), `only ${USER}'s events: ${users.join(" | ")}`);
      await axeAudit(page, "/ after the uploads");
    });

    await check("My files: the user's uploads, renamed, made public and deleted in place", async () => {
      const panel = page.locator("section.my-files");
      await panel.getByRole("button", { name: "Reload list" }).click();
      const first = panel.locator("li", { hasText: "avatar.png" }).first();
      await first.waitFor();
      const key = await first.getAttribute("data-key");
      const item = panel.locator(`li[data-key="${key}"]`);
      await item.getByRole("button", { name: "Rename" }).click();
      await item.getByRole("textbox", { name: "New name for avatar.png" }).fill("renamed.png");
      await item.getByRole("button", { name: "Save" }).click();
      await item.locator(".file-name", { hasText: "renamed.png" }).waitFor();
      // A profile picture is public: made private, its public URL stops working; made public
      // again, it works.
      const publicUrl = new URL(await item.locator("a.file-name").getAttribute("href"), demo.url).toString();
      assert.ok(!publicUrl.includes("sig="), publicUrl);
      await item.getByRole("button", { name: "Make private" }).click();
      await item.getByRole("button", { name: "Make public" }).waitFor();
      const signedUrl = new URL(await item.locator("a.file-name").getAttribute("href"), demo.url).toString();
      assert.ok(signedUrl.includes("sig="), signedUrl);
      assert.equal((await fetch(publicUrl)).status, 404);
      assert.equal((await fetch(signedUrl)).status, 200);
      await item.getByRole("button", { name: "Make public" }).click();
      await item.getByRole("button", { name: "Make private" }).waitFor();
      const url = publicUrl;
      assert.equal((await fetch(url)).status, 200);
      await axeAudit(page, "/ with My files");
      await item.getByRole("button", { name: "Delete renamed.png" }).click();
      await item.waitFor({ state: "detached" });
      // Gone on the server: not listed, not served.
      const res = await fetch(`${demo.url}/api/uploads/files`, { headers: { "x-user": USER } });
      const body = await res.json();
      assert.ok(!body.files.some((f) => f.key === key), JSON.stringify(body));
      assert.equal((await fetch(url)).status, 404);
      // And nobody else sees this user's files.
      const other = await fetch(`${demo.url}/api/uploads/files`, { headers: { "x-user": "someone-else" } });
      assert.deepEqual((await other.json()).files, []);
    });

    await check("My folder: a file added with a token, listed, and deleted with a token", async () => {
      const panel = page.locator("section.my-folder");
      await panel.getByRole("button", { name: "Reload folder" }).click();
      await panel.getByText(`users/${USER}`).first().waitFor();
      await panel.getByLabel("Add a file to your folder").setInputFiles({ name: "folder-note.txt", mimeType: "text/plain", buffer: Buffer.from("a note in my folder") });
      const item = panel.locator(`li[data-path="users/${USER}/folder-note.txt"]`);
      await item.waitFor();
      const href = new URL(await item.locator("a").getAttribute("href"), demo.url).toString();
      assert.equal((await fetch(href)).status, 200);
      await axeAudit(page, "/ with My folder");
      await item.getByRole("button", { name: "Delete folder-note.txt" }).click();
      await item.waitFor({ state: "detached" });
      assert.equal((await fetch(href)).status, 404);
    });

    await check("axe: the plain page at /plain, signed out and after a form upload, has no violations", async () => {
      const plainContext = await browser.newContext({ viewport: { width: 1200, height: 1000 } });
      try {
        const plain = await plainContext.newPage();
        const plainProblems = [];
        plain.on("pageerror", (e) => plainProblems.push(`page error: ${e.message}`));
        plain.on("console", (m) => {
          if (m.type() === "error" && !signedOutActivity(m)) plainProblems.push(`console error: ${m.text()}`);
        });
        await plain.goto(`${demo.url}/plain`);
        await plain.locator("#routes tbody tr", { hasText: "profilePicture" }).waitFor();
        await plain.locator("#activity li", { hasText: "Sign in to see what the hooks did with your uploads." }).waitFor();
        await axeAudit(plain, "/plain signed out");

        await plain.locator("#name").fill(USER);
        await Promise.all([plain.waitForURL(`${demo.url}/plain`), plain.getByRole("button", { name: "Sign in" }).click()]);
        await plain.locator("#who", { hasText: `Signed in as ${USER}.` }).waitFor();
        await plain.locator("#activity li", { hasText: `${USER}: ` }).first().waitFor();
        // One of the no-JavaScript forms: its JSON answer lands in the result frame.
        const form = plain.locator("form[action='/api/uploads/profilePicture/multipart']");
        await form.locator("input[type=file]").setInputFiles({ name: "plain.png", mimeType: "image/png", buffer: png(40, 30) });
        await form.getByRole("button", { name: "Upload" }).click();
        await until("the form's answer in the result frame", async () => {
          const frame = plain.frame({ name: "form-result" });
          return frame && (await frame.locator("body").textContent().catch(() => "")).includes("plain.png");
        });
        await plain.locator("#activity li", { hasText: "plain.png" }).waitFor();
        await axeAudit(plain, "/plain signed in, after a form upload");
        assert.deepEqual(plainProblems, []);
      } finally {
        await plainContext.close();
      }
    });

    await check("straight to the bucket: a 40 MB video goes in parts, pauses, resumes and completes with its server data", async () => {
      if (!process.env.UPLIFT_S3_ENDPOINT) {
        assert.notEqual(process.env.UPLIFT_REQUIRE_S3, "1", "UPLIFT_REQUIRE_S3=1 but UPLIFT_S3_ENDPOINT is not set");
        log("     skipped: no UPLIFT_S3_ENDPOINT");
        return;
      }
      const bucket = new URL(process.env.UPLIFT_S3_ENDPOINT).origin;
      const s3 = await startDemo(bin, join(work, "data-s3"), {
        UPLIFT_S3_ENDPOINT: process.env.UPLIFT_S3_ENDPOINT,
        UPLIFT_S3_KEY_PREFIX: `e2e-${Date.now().toString(36)}/`,
        UPLIFT_DIRECT_MULTIPART_THRESHOLD: String(8 * MB),
        UPLIFT_S3_CORS_ORIGINS: "*",
      });
      const direct = await context.newPage();
      const sent = [];
      direct.on("request", (r) => sent.push({ method: r.method(), url: r.url() }));
      direct.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
      const said = [];
      direct.on("console", (m) => said.push(`${m.type()}: ${m.text()}`));
      try {
        // The sign-in cookie of the first demo (same host) signs this page in too.
        await Promise.all([direct.waitForResponse((r) => r.url().endsWith("/api/demo/me")), direct.goto(`${s3.url}/?direct=1`)]);
        await direct.locator("#route-mediaPost .uplift-root").waitFor();
        if (!(await direct.locator("#who", { hasText: `Signed in as ${USER}.` }).isVisible())) {
          await direct.locator("#signin-name").fill(USER);
          await Promise.all([direct.waitForURL(`${s3.url}/`), direct.getByRole("button", { name: "Sign in" }).click()]);
          await direct.goto(`${s3.url}/?direct=1`);
        }
        await direct.locator("#who", { hasText: `Signed in as ${USER}.` }).waitFor();
        const route = direct.locator("#route-mediaPost");
        const video = join(work, "direct.mp4");
        const size = 40 * MB;
        mp4File(video, size);
        const unthrottle = await throttle(direct, 8 * MB);
        const bar = await uploadMedia(route, video, "direct.mp4", "Straight to the bucket");
        const paused = await pauseMidway(route, bar);
        await unthrottle();
        const beforeResume = sent.length;
        await route.getByRole("button", { name: "Resume" }).click();
        await route.locator(".uplift-status[data-state=complete]").waitFor({ timeout: 60_000 });
        const pre = route.locator(".server-data pre");
        await pre.waitFor({ timeout: 15_000 });
        const data = JSON.parse(await pre.textContent());
        assert.equal(data.caption, "Straight to the bucket");
        assert.equal(data.kind, "video");

        const puts = sent.filter((r) => r.method === "PUT");
        assert.ok(puts.length >= 5, `${puts.length} part PUTs for 5 parts`);
        assert.ok(puts.every((r) => r.url.startsWith(bucket)), "every byte went to the bucket, none to the server");
        assert.equal(sent.filter((r) => r.url.includes("/tus")).length, 0, "not over tus");
        const resumed = sent.slice(beforeResume);
        assert.ok(resumed.some((r) => r.method === "POST" && /\/upload\/[^/]+\/parts/.test(r.url)), "the resume asked the bucket which parts it has");
        const complete = sent.find((r) => r.method === "POST" && /\/upload\/[^/]+\/complete/.test(r.url));
        assert.ok(complete, "the page completed the upload");
        const key = new URL(complete.url).pathname.split("/").at(-2);
        // The download redirects to the bucket; the bytes there are the chosen file's.
        const got = Buffer.from(await (await fetch(`${s3.url}/api/uploads/download/${key}`)).arrayBuffer());
        assert.equal(got.length, size);
        const digest = (b) => createHash("sha256").update(b).digest("hex");
        assert.equal(digest(got), digest(readFileSync(video)), "the stored file is the chosen one, byte for byte");
        log(`     ${puts.length} part PUTs to ${bucket}, paused at ${paused}%`);
      } catch (e) {
        const state = await direct.locator("#route-mediaPost").innerText().catch(() => "?");
        log(`     page: ${state.replace(/\n/g, " | ")}`);
        log(`     console: ${said.slice(-10).join(" / ")}`);
        log(`     requests: ${sent.slice(-12).map((r) => `${r.method} ${r.url.slice(0, 100)}`).join("\n       ")}`);
        throw e;
      } finally {
        await direct.close().catch(() => {});
        await s3.stop();
      }
    });

    // Late: its uploads would show in the activity and file lists the checks above count.
    await check("/uploadthing: UploadThing's stock UploadButton uploads with progress, shows the server data and an oversize refusal", async () => {
      const ut = await context.newPage();
      ut.on("pageerror", (e) => problems.push(`/uploadthing page error: ${e.message}`));
      try {
        await ut.goto(`${demo.url}/uploadthing`);
        await ut.getByRole("heading", { level: 1, name: "UploadThing's components on Uplift" }).waitFor();
        const section = ut.locator("#ut-profilePicture");
        const input = section.locator("input[type=file]");
        // The button is ready once it read the route config (GET {base}/uploadthing).
        await until("the UploadButton to be ready", () => input.isEnabled(), 15_000);
        assert.match((await input.getAttribute("accept")) ?? "", /image\//);
        await input.setInputFiles({ name: "ut-avatar.png", mimeType: "image/png", buffer: png(160, 100) });
        await section.locator("#ut-profilePicture-server-data", { hasText: `uploaded by ${USER}` }).waitFor({ timeout: 20_000 });
        await section.locator("#ut-profilePicture-progress", { hasText: "Progress: 100%" }).waitFor();
        await ut.screenshot({ path: join(ARTIFACTS, "uploadthing-after-upload.png"), fullPage: true });
        // Refused by the route (2 MB images): the message the server gave, as the client shows it.
        await until("the UploadButton to be ready again", () => input.isEnabled(), 15_000);
        await input.setInputFiles({ name: "huge.png", mimeType: "image/png", buffer: Buffer.alloc(3 * MB, 1) });
        const refused = section.locator("#ut-profilePicture-error");
        await refused.waitFor({ timeout: 20_000 });
        assert.match(await refused.textContent(), /^Refused: file 0 is 3145728 bytes; image files may be at most 2097152 bytes/);
        await axeAudit(ut, "/uploadthing after uploads");
      } finally {
        await ut.close();
      }
    });

    await check("the page logged no errors beyond the refusals it showed", async () => {
      // The refused upload never reached the server, and a cancelled request is not a console error.
      // A 423 is the tus lock: on resume the paused PATCH may not have been released yet, and
      // tus-js-client asks again.
      const unexpected = problems.filter((p) => !/ERR_ABORTED|net::ERR_|status of 423 \(Locked\)/.test(p));
      assert.deepEqual(unexpected, []);
    });
  } finally {
    await browser.close().catch(() => {});
    await demo.stop();
    if (results.some((r) => !r.ok)) {
      log("--- demo server log (tail) ---");
      log(demo.output().split("\n").slice(-40).join("\n"));
    }
  }
}

try {
  await main();
} catch (error) {
  results.push({ name: "setup", ok: false, error });
  log(`FAIL setup\n     ${String(error?.stack ?? error).split("\n").join("\n     ")}`);
} finally {
  for (const c of cleanups.reverse()) {
    try {
      await c();
    } catch {
      // best effort
    }
  }
}
const passed = results.filter((r) => r.ok).length;
const failed = results.length - passed;
log(`screenshot: ${join(ARTIFACTS, "after-upload.png")}`);
log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
