// Third-party tus clients, unmodified, against the real demo server's tus endpoint of a file
// route: tus-js-client in Node (whole, interrupted then resumed, in parallel parts) and tuspy
// from PyPI (with and without metadata, with `upload_checksum`).

import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Upload, type UploadOptions } from "tus-js-client";
import { describe, expect, inject, it } from "vitest";
import { base } from "./helpers.js";

const MiB = 1024 * 1024;

/** An MP4 (`ftyp isom`) of `size` bytes, as a Buffer. */
function mp4Bytes(size: number, seed = 5): Buffer {
  const out = Buffer.alloc(size);
  let x = seed * 2654435761;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  Buffer.from([0, 0, 0, 0x18, ...Buffer.from("ftypisom"), 0, 0, 2, 0, ...Buffer.from("isomiso2")]).copy(out, 0);
  return out;
}

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const stored = (key: string) => sha(readFileSync(join(inject("dataDir"), "files", key)));
const endpoint = () => `${base()}/mediaPost/tus`;

interface Done {
  url: string;
  key: string | undefined;
}

function options(extra: UploadOptions): UploadOptions {
  return {
    endpoint: endpoint(),
    headers: { "x-user": "ann" },
    metadata: { filename: "clip.mp4", filetype: "video/mp4", input: JSON.stringify({ caption: "from tus-js-client" }) },
    retryDelays: [0, 100, 300],
    ...extra,
  };
}

/** Runs a tus-js-client upload to completion; the key from `Uplift-Key`. */
function send(data: Buffer, extra: UploadOptions = {}): Promise<Done> {
  return new Promise((resolveDone, reject) => {
    let key: string | undefined;
    const upload = new Upload(
      data,
      options({
        ...extra,
        onAfterResponse: (_req, res) => {
          key = res.getHeader("Uplift-Key") ?? key;
        },
        onError: reject,
        onSuccess: () => resolveDone({ url: upload.url!, key }),
      }),
    );
    upload.start();
  });
}

async function statusOf(key: string): Promise<{ status: string; file?: { size: number } }> {
  const res = await fetch(`${base()}/files/${encodeURIComponent(key)}`);
  return (await res.json()) as { status: string; file?: { size: number } };
}

describe("tus-js-client (Node)", () => {
  it("uploads a file in chunks to a file route", async () => {
    const data = mp4Bytes(3 * MiB + 5);
    const done = await send(data, { chunkSize: 1 * MiB });
    expect(done.key).toBeTruthy();
    expect(stored(done.key!)).toBe(sha(data));
    expect((await statusOf(done.key!)).file?.size).toBe(data.length);
  });

  it("resumes an interrupted upload from the server's offset", async () => {
    const data = mp4Bytes(4 * MiB, 6);
    let url: string | null = null;
    let key: string | undefined;
    // First attempt: abort after the second chunk is acknowledged.
    await new Promise<void>((res, rej) => {
      const upload = new Upload(
        data,
        options({
          chunkSize: 512 * 1024,
          onAfterResponse: (_req, r) => {
            key = r.getHeader("Uplift-Key") ?? key;
          },
          onChunkComplete: (_chunk, accepted) => {
            if (accepted >= 1 * MiB) {
              url = upload.url;
              void upload.abort().then(() => res());
            }
          },
          onError: rej,
          onSuccess: () => rej(new Error("finished before the interruption")),
        }),
      );
      upload.start();
    });
    expect(url).toBeTruthy();
    // The server kept the offset.
    const head = await fetch(url!, { method: "HEAD", headers: { "Tus-Resumable": "1.0.0" } });
    expect(head.status).toBe(200);
    const offset = Number(head.headers.get("Upload-Offset"));
    expect(offset).toBeGreaterThanOrEqual(1 * MiB);
    expect(offset).toBeLessThan(data.length);
    // A new client, given the upload URL: only the rest is sent.
    let firstProgress: number | undefined;
    const done = await send(data, {
      uploadUrl: url!,
      chunkSize: 512 * 1024,
      onProgress: (sent) => {
        firstProgress ??= sent;
      },
    });
    expect(firstProgress).toBeGreaterThanOrEqual(offset);
    const k = done.key ?? key!;
    expect(stored(k)).toBe(sha(data));
  });

  it("sends parallel parts (parallelUploads > 1) that the server concatenates", async () => {
    // messageAttachment takes no input: the partial uploads go without metadata (tus-js-client's
    // default), the final one names the file and its type.
    const data = mp4Bytes(5 * MiB + 3, 7);
    const done = await send(data, {
      endpoint: `${base()}/messageAttachment/tus`,
      metadata: { filename: "parts.mp4", filetype: "video/mp4" },
      parallelUploads: 3,
    });
    expect(done.key).toBeTruthy();
    expect(stored(done.key!)).toBe(sha(data));
  });
});

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** The venv `cargo xtask test` made (tools/requirements.txt pins tuspy). */
function python(): string {
  return process.env.UPLIFT_PYTHON || join(homedir(), ".cache/uplift-venv/bin/python");
}

describe("tuspy (PyPI)", () => {
  it("uploads with metadata, without metadata, and with upload_checksum", () => {
    const r = spawnSync(python(), [join(repoRoot, "tools/tuspy_check.py"), base(), inject("dataDir")], {
      encoding: "utf8",
      timeout: 60_000,
    });
    if (r.error) throw new Error(`${python()} could not run (run \`cargo xtask test\`, which makes the venv): ${r.error.message}`);
    expect(r.stderr + r.stdout).toContain("tuspy: 3 passed, 0 failed");
    expect(r.status).toBe(0);
  });
});
