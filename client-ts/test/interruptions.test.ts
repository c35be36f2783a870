// Cancelling, pausing, and a connection that drops mid-upload.

import { readdirSync } from "node:fs";
import { createServer, connect, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { afterEach, describe, expect, inject, it } from "vitest";
import type { UploadRouter } from "../../generated/ts/router.js";
import { createUploader, UploadError, type UploadProgress } from "../src/index.js";
import { base, eventually, mp4, origin, png, recordingFetch, sha256, statusOf } from "./helpers.js";

const MB = 1024 * 1024;

function storedKeys(): string[] {
  return readdirSync(join(inject("dataDir"), "files"));
}

/**
 * The upload of `key` ends `failed` (or, with `neverSent`, may still be `pending`: its request
 * never reached the server), and nothing of it can be seen.
 */
async function expectGone(key: string, neverSent = false): Promise<void> {
  const ok = neverSent ? ["failed", "pending"] : ["failed"];
  // `uploading` until the server notices the closed connection.
  await eventually(async () => ok.includes((await statusOf(key)).status));
  expect((await fetch(`${base()}/download/${key}`)).status).toBe(404);
  expect(storedKeys()).not.toContain(key);
}

describe("AbortSignal", () => {
  it("cancels every file in flight, and the server keeps nothing of them", async () => {
    const rec = recordingFetch();
    const up = createUploader<UploadRouter>({ url: base(), fetch: rec.fetch, headers: { "x-user": "ann" } });
    const ctl = new AbortController();
    const keys: string[] = [];
    const files = [mp4("long.mp4", 24 * MB), png("a.png", 1.9 * MB)];
    const err = await up
      .upload("mediaPost", {
        files,
        input: { caption: "never posted" },
        signal: ctl.signal,
        onUploadBegin: (f) => keys.push(f.key),
        // Abort while both are under way: the video 1 MB in, the image not all sent.
        onProgress: (p) => {
          const [video, image] = p.files;
          if (video!.loaded >= 1 * MB && image!.loaded > 0 && image!.loaded < image!.total) ctl.abort();
        },
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UploadError);
    expect((err as UploadError).code).toBe("ABORTED");
    expect(keys).toHaveLength(2);
    // The video was well under way; the image's request may not have reached the server yet.
    await expectGone(keys[0]!);
    await expectGone(keys[1]!, true);
    expect(rec.count("PUT")).toBe(2);
  });

  it("before the upload starts, sends nothing", async () => {
    const rec = recordingFetch();
    const up = createUploader<UploadRouter>({ url: base(), fetch: rec.fetch, headers: { "x-user": "ann" } });
    const err = await up
      .upload("profilePicture", { files: [png("a.png")], signal: AbortSignal.abort() })
      .catch((e: unknown) => e);
    expect((err as UploadError).code).toBe("ABORTED");
    expect(rec.sent).toEqual([]);
  });

  it("cancel() on a handle does the same", async () => {
    const up = createUploader<UploadRouter>({ url: base(), headers: { "x-user": "ann" } });
    let key = "";
    const handle = up.createUpload("mediaPost", {
      files: [mp4("long.mp4", 16 * MB)],
      input: { caption: "cancelled" },
      onUploadBegin: (f) => (key = f.key),
      onProgress: (p) => {
        if (p.loaded >= 1 * MB) handle.cancel();
      },
    });
    const err = await handle.promise.catch((e: unknown) => e);
    expect((err as UploadError).code).toBe("ABORTED");
    await expectGone(key);
  });
});

describe("pause and resume", () => {
  it("interrupts the file in flight and sends it again on resume", async () => {
    const up = createUploader<UploadRouter>({ url: base(), headers: { "x-user": "ann" } });
    const keys: string[] = [];
    const events: UploadProgress[] = [];
    const file = mp4("paused.mp4", 8 * MB);
    let pausedOnce = false;
    const handle = up.createUpload("mediaPost", {
      files: [file],
      input: { caption: "paused" },
      onUploadBegin: (f) => keys.push(f.key),
      onProgress: (p) => {
        events.push(p);
        if (!pausedOnce && p.loaded >= 2 * MB) {
          pausedOnce = true;
          handle.pause();
        }
      },
    });
    await eventually(async () => pausedOnce);
    expect(handle.paused).toBe(true);
    // The interrupted key is refused by the server; nothing is visible.
    await expectGone(keys[0]!);
    handle.resume();
    const [res] = await handle.promise;
    expect(res!.sha256).toBe(await sha256(file));
    // onUploadBegin once; the file was sent under a new key.
    expect(keys).toHaveLength(1);
    expect(res!.key).not.toBe(keys[0]);
    for (let i = 1; i < events.length; i++) expect(events[i]!.loaded).toBeGreaterThanOrEqual(events[i - 1]!.loaded);
    expect(events.at(-1)!.loaded).toBe(file.size);
  });
});

/**
 * A TCP proxy to the demo that cuts the first signed PUT after `cutAfter` bytes of it: a
 * connection that drops mid-body, as on a flaky network.
 */
async function droppingProxy(cutAfter: number) {
  const target = new URL(origin());
  const sockets = new Set<Socket>();
  let cut = 0;
  let puts = 0;
  const server: Server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    sockets.add(client).add(upstream);
    let sentOfPut = -1;
    client.on("data", (chunk: Buffer) => {
      let data = chunk;
      const text = chunk.toString("latin1");
      const at = text.indexOf("PUT /api/uploads/upload/");
      if (at >= 0) puts++;
      if (cut === 0 && sentOfPut < 0 && at >= 0) sentOfPut = 0;
      if (cut === 0 && sentOfPut >= 0) {
        const room = cutAfter - sentOfPut;
        if (chunk.length >= room) {
          data = chunk.subarray(0, room);
          upstream.write(data, () => {
            cut++;
            upstream.destroy();
            client.destroy();
          });
          return;
        }
        sentOfPut += chunk.length;
      }
      upstream.write(data);
    });
    upstream.on("data", (d) => client.write(d));
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", close).on("close", close);
    upstream.on("error", close).on("close", close);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}/api/uploads`,
    cuts: () => cut,
    puts: () => puts,
    close: () =>
      new Promise<void>((r) => {
        sockets.forEach((s) => s.destroy());
        server.close(() => r());
      }),
  };
}

describe("a dropped connection", () => {
  let proxy: Awaited<ReturnType<typeof droppingProxy>> | undefined;
  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
  });

  it("is retried: the file is prepared again and stored once, with its server data", async () => {
    proxy = await droppingProxy(300_000);
    const up = createUploader<UploadRouter>({ url: proxy.url, headers: { "x-user": "ann" }, retries: { minDelay: 50 } });
    const file = png("flaky.png", 1.5 * MB, 9);
    const keys: string[] = [];
    const events: UploadProgress[] = [];
    const [res] = await up.upload("profilePicture", {
      files: [file],
      onUploadBegin: (f) => keys.push(f.key),
      onProgress: (p) => events.push(p),
    });
    expect(proxy.cuts()).toBe(1);
    expect(proxy.puts()).toBe(2);
    expect(res!.serverData.uploadedBy).toBe("ann");
    expect(res!.sha256).toBe(await sha256(file));
    // The cut attempt left nothing behind.
    expect(res!.key).not.toBe(keys[0]);
    await expectGone(keys[0]!);
    expect(storedKeys()).toContain(res!.key);
    // Progress never went backwards, and ended at the size.
    for (let i = 1; i < events.length; i++) expect(events[i]!.loaded).toBeGreaterThanOrEqual(events[i - 1]!.loaded);
    expect(events.at(-1)!.loaded).toBe(file.size);
  });

  it("surfaces NETWORK_ERROR when retries are off", async () => {
    proxy = await droppingProxy(100_000);
    const up = createUploader<UploadRouter>({ url: proxy.url, headers: { "x-user": "ann" }, retries: 0 });
    const err = await up.upload("profilePicture", { files: [png("flaky.png", 1 * MB)] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UploadError);
    expect((err as UploadError).code).toBe("NETWORK_ERROR");
    expect((err as UploadError).fileIndex).toBe(0);
  });
});

describe("a failed PUT is recovered from its status", () => {
  it("a lost answer: the stored file is taken as it is, not sent again", async () => {
    let puts = 0;
    const losesFirstAnswer = async (url: string, init?: RequestInit) => {
      const res = await fetch(url, init);
      if (init?.method === "PUT" && ++puts === 1) {
        await res.text();
        throw new TypeError("fetch failed: the connection closed before the answer");
      }
      return res;
    };
    const up = createUploader<UploadRouter>({
      url: base(),
      fetch: losesFirstAnswer,
      headers: { "x-user": "ann" },
      retries: { minDelay: 10 },
    });
    const keys: string[] = [];
    const [res] = await up.upload("profilePicture", { files: [png("kept.png")], onUploadBegin: (f) => keys.push(f.key) });
    expect(puts).toBe(1);
    expect(res!.key).toBe(keys[0]);
    expect(res!.serverData.uploadedBy).toBe("ann");
  });

  it("a 5xx before the server took the upload: the same URL is used again", async () => {
    let puts = 0;
    const busyOnce = async (url: string, init?: RequestInit) => {
      if (init?.method === "PUT" && ++puts === 1) {
        return new Response("<html>502 Bad Gateway</html>", { status: 502, headers: { "content-type": "text/html" } });
      }
      return fetch(url, init);
    };
    const up = createUploader<UploadRouter>({ url: base(), fetch: busyOnce, headers: { "x-user": "ann" }, retries: { minDelay: 10 } });
    const keys: string[] = [];
    const [res] = await up.upload("profilePicture", { files: [png("again.png")], onUploadBegin: (f) => keys.push(f.key) });
    expect(puts).toBe(2);
    expect(res!.key).toBe(keys[0]);
  });

  it("a 4xx from the PUT is not retried", async () => {
    let puts = 0;
    const refused = async (url: string, init?: RequestInit) => {
      if (init?.method === "PUT") {
        puts++;
        return fetch(url.replace(/sig=[^&]+/, "sig=k1.forged"), init);
      }
      return fetch(url, init);
    };
    const up = createUploader<UploadRouter>({ url: base(), fetch: refused, headers: { "x-user": "ann" }, retries: { minDelay: 10 } });
    const err = await up.upload("profilePicture", { files: [png("forged.png")] }).catch((e: unknown) => e);
    expect((err as UploadError).code).toBe("SIGNATURE_INVALID");
    expect((err as UploadError).status).toBe(403);
    expect(puts).toBe(1);
  });
});
