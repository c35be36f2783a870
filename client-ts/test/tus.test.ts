// Large files through the client over tus (tus-js-client inside), against the real demo server:
// the threshold, chunks, pause/resume from the server's offset, resume after a "reload" from a
// stored fingerprint, parallel parts, server data, cancel.

import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { inject } from "vitest";
import type { PreviousUpload, UrlStorage } from "tus-js-client";
import type { UploadRouter } from "../../generated/ts/router.js";
import { createUploader, type FetchLike, type TusOptions, type UploadProgress } from "../src/index.js";
import { base, eventually, mp4, pdf, png, recordingFetch, sha256 } from "./helpers.js";

const KiB = 1024;
const MiB = 1024 * KiB;

const up = (tus: TusOptions, fetchFn?: FetchLike) =>
  createUploader<UploadRouter>({
    url: base(),
    headers: { "x-user": "ann" },
    retries: { minDelay: 20 },
    tus: { resumable: false, ...tus },
    ...(fetchFn ? { fetch: fetchFn } : {}),
  });

function storedSha(key: string): string {
  const bytes = readFileSync(join(inject("dataDir"), "files", key));
  return createHash("sha256").update(bytes).digest("hex");
}

/** An in-memory `UrlStorage`, standing in for a browser's localStorage across a "reload". */
function memoryStorage(): UrlStorage & { size(): number } {
  const entries = new Map<string, { fingerprint: string; upload: PreviousUpload }>();
  let n = 0;
  return {
    size: () => entries.size,
    async findAllUploads() {
      return [...entries.values()].map((e) => e.upload);
    },
    async findUploadsByFingerprint(fp) {
      return [...entries.values()].filter((e) => e.fingerprint === fp).map((e) => e.upload);
    },
    async removeUpload(key) {
      entries.delete(key);
    },
    async addUpload(fingerprint, upload) {
      const key = `u${n++}`;
      entries.set(key, { fingerprint, upload: { ...upload, urlStorageKey: key } });
      return key;
    },
  };
}

/** A monotonic check of every progress event, and the bytes seen at each. */
function progressLog() {
  const loaded: number[] = [];
  return {
    loaded,
    onProgress: (p: UploadProgress) => {
      loaded.push(p.loaded);
    },
  };
}

describe("large files over tus", () => {
  it("go over tus above the threshold, in chunks, and are stored byte for byte", async () => {
    const rec = recordingFetch();
    const file = mp4("clip.mp4", 3 * MiB + 123);
    const log = progressLog();
    const [res] = await up({ threshold: 1 * MiB, chunkSize: 512 * KiB }, rec.fetch).upload("mediaPost", {
      files: [file],
      input: { caption: "over tus" },
      onProgress: log.onProgress,
    });
    // No prepare and no PUT: the bytes went through tus-js-client.
    expect(rec.count("POST")).toBe(0);
    expect(rec.count("PUT")).toBe(0);
    expect(res!.size).toBe(file.size);
    expect(res!.name).toMatch(/^ann-.*\.mp4$/);
    expect(storedSha(res!.key)).toBe(await sha256(file));
    expect(log.loaded.at(-1)).toBe(file.size);
    expect([...log.loaded].sort((a, b) => a - b)).toEqual(log.loaded);
  });

  it("stays on one PUT below the threshold", async () => {
    const rec = recordingFetch();
    await up({ threshold: 1 * MiB }, rec.fetch).upload("mediaPost", {
      files: [mp4("small.mp4", 512 * KiB)],
      input: { caption: "small" },
    });
    expect(rec.count("PUT")).toBe(1);
  });

  it("mixes: small files in one prepare + PUT, the large one over tus", async () => {
    const rec = recordingFetch();
    const files = [png("a.png", 10_000), mp4("b.mp4", 2 * MiB)];
    const res = await up({ threshold: 1 * MiB, chunkSize: 1 * MiB }, rec.fetch).upload("mediaPost", {
      files,
      input: { caption: "mixed" },
    });
    expect(res.map((f) => f.size)).toEqual([10_000, 2 * MiB]);
    expect(rec.count("PUT")).toBe(1);
    expect(storedSha(res[1]!.key)).toBe(await sha256(files[1]!));
  });

  it("awaits the server data over tus (documentReview)", async () => {
    const file = pdf("review.pdf", 4000);
    expect(file.size).toBeGreaterThan(128 * KiB);
    const [res] = await up({ threshold: 1, chunkSize: 64 * KiB }).upload("documentReview", { files: [file] });
    expect(res!.serverData).toMatchObject({ submittedBy: "ann", pagesEstimate: 4000, sha256: await sha256(file) });
    // The status URL came from `Uplift-Status-Url`, with the token a private file's status needs.
    expect(new URL(res!.statusUrl).searchParams.get("token")).toBeTruthy();
    expect((await fetch(res!.statusUrl)).status).toBe(200);
    expect((await fetch(`${base()}/files/${res!.key}`)).status).toBe(404);
  });

  it("pause and resume go on from the server's offset, with byte-accurate progress", async () => {
    const file = mp4("paused.mp4", 8 * MiB);
    const log = progressLog();
    const handle = up({ threshold: 1 * MiB, chunkSize: 256 * KiB }).createUpload("mediaPost", {
      files: [file],
      input: { caption: "pause me" },
      onProgress: log.onProgress,
    });
    await until(() => (log.loaded.at(-1) ?? 0) >= 2 * MiB);
    handle.pause();
    expect(handle.paused).toBe(true);
    const atPause = log.loaded.at(-1)!;
    await new Promise((r) => setTimeout(r, 300));
    // Nothing moves while paused.
    const whilePaused = log.loaded.at(-1)!;
    await new Promise((r) => setTimeout(r, 300));
    expect(log.loaded.at(-1)).toBe(whilePaused);
    expect(whilePaused).toBeLessThan(file.size);
    handle.resume();
    const [res] = await handle.promise;
    expect(storedSha(res!.key)).toBe(await sha256(file));
    expect(log.loaded.at(-1)).toBe(file.size);
    // Never backwards, and not started over.
    expect([...log.loaded].sort((a, b) => a - b)).toEqual(log.loaded);
    expect(Math.min(...log.loaded.filter((_, i) => i > log.loaded.indexOf(atPause)))).toBeGreaterThanOrEqual(atPause);
  });

  it("resumes after a reload from the stored fingerprint", async () => {
    const storage = memoryStorage();
    const file = mp4("reload.mp4", 6 * MiB, 7);
    const opts = { threshold: 1 * MiB, chunkSize: 256 * KiB, resumable: true, urlStorage: storage };
    const first = progressLog();
    const h1 = up(opts).createUpload("mediaPost", { files: [file], input: { caption: "reload" }, onProgress: first.onProgress });
    await until(() => (first.loaded.at(-1) ?? 0) >= 2 * MiB);
    h1.pause(); // the page goes away: the upload stays on the server, its URL in storage
    await new Promise((r) => setTimeout(r, 200));
    expect(storage.size()).toBe(1);
    const sentBefore = first.loaded.at(-1)!;

    // A new page, a new uploader, the same file: it starts at the server's offset.
    const second = progressLog();
    const [res] = await up(opts).upload("mediaPost", { files: [file], input: { caption: "reload" }, onProgress: second.onProgress });
    expect(second.loaded.find((n) => n > 0)).toBeGreaterThanOrEqual(Math.min(sentBefore, 2 * MiB));
    expect(storedSha(res!.key)).toBe(await sha256(file));
    // Done: forgotten.
    expect(storage.size()).toBe(0);
    h1.promise.catch(() => {});
    h1.cancel();
  });

  it("sends parallel parts that the server joins", async () => {
    const file = mp4("parts.mp4", 5 * MiB + 77, 9);
    const log = progressLog();
    const [res] = await up({ threshold: 1 * MiB, parallelUploads: 3 }).upload("mediaPost", {
      files: [file],
      input: { caption: "in parts" },
      onProgress: log.onProgress,
    });
    expect(res!.size).toBe(file.size);
    expect(storedSha(res!.key)).toBe(await sha256(file));
    expect(log.loaded.at(-1)).toBe(file.size);
  });

  it("cancel stops the upload and deletes it on the server", async () => {
    const file = mp4("cancel.mp4", 8 * MiB, 11);
    const keys: string[] = [];
    const log = progressLog();
    const handle = up({ threshold: 1 * MiB, chunkSize: 256 * KiB }).createUpload("mediaPost", {
      files: [file],
      input: { caption: "cancel me" },
      onUploadBegin: (f) => keys.push(f.key),
      onProgress: log.onProgress,
    });
    await until(() => (log.loaded.at(-1) ?? 0) >= 1 * MiB);
    handle.cancel();
    await expect(handle.promise).rejects.toMatchObject({ code: "ABORTED" });
    expect(keys).toHaveLength(1);
    // Terminated: the server knows the upload no more, and stored nothing.
    await eventually(async () => (await fetch(`${base()}/files/${keys[0]}`)).status === 404);
    expect(existsSync(join(inject("dataDir"), "files", keys[0]!))).toBe(false);
  });

  it("refuses what the route refuses, before any byte (input from the metadata)", async () => {
    const err = await up({ threshold: 1 * MiB })
      .upload("mediaPost", { files: [mp4("bad.mp4", 2 * MiB)], input: { caption: "   " }, clientChecks: false })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "INVALID_INPUT" });
  });
});

async function until(check: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}
