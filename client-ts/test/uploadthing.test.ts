// @vitest-environment jsdom
//
// UploadThing's own client, the stock `uploadthing` package from npm, against the real demo
// server's UploadThing endpoints (`{base}/uploadthing`, see docs/uploadthing.md): every route,
// the refusals as the client reports them, abort, pause/resume from a mid-file offset, and the
// version the wire format was checked against.
//
// The client uploads with XMLHttpRequest and resolves its URL against the page's origin, so
// this file runs in jsdom, whose XHR enforces CORS against the document URL: the document is
// put on the demo's origin (or on the origin of the recording proxy below) before uploading.

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, request, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { genUploader, UploadAbortedError, version as clientVersion } from "uploadthing/client";
import { UploadThingError } from "uploadthing/server";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { PostInput, ProfilePictureSaved, ReviewTicket, UploadThingRouter } from "../../generated/ts/router.js";
import { base, eventually, jpeg, mp4, origin, pdf, png } from "./helpers.js";

/**
 * The `uploadthing` version whose wire format the server was checked against: the pin in
 * client-ts/package.json, and `UPLOADTHING_VERSION` in server/src/protocol/uploadthing.rs.
 */
const PINNED_UPLOADTHING = "7.7.4";

const MiB = 1024 * 1024;
const ENDPOINT = "/api/uploads/uploadthing";
const ann = { "x-user": "ann" };

// The demo's routes as UploadThing's client types see them, generated from the Rust routes:
// input and server data (`null` on a route that does not await it).
type DemoRouter = UploadThingRouter;

/** The JSDOM instance of vitest's jsdom environment (the global `jsdom`). */
interface VitestJsdom {
  reconfigure(settings: { url: string }): void;
  window: { origin: string; _origin: string };
}

/**
 * Puts the page on origin `o`, as if it had been served from there: `location` (which the
 * client resolves its URL against) and the origin jsdom's XHR checks CORS against.
 */
function setDocumentOrigin(o: string): void {
  const dom = (globalThis as unknown as { jsdom: VitestJsdom }).jsdom;
  dom.reconfigure({ url: `${o}/` });
  // jsdom (29.1.1, still so in 31.0.1) updates the document's URL and origin on reconfigure but
  // not the window's own origin, which is what its XHR sends and checks CORS against: without
  // this, every PUT would be a cross-origin request from the old origin (http://localhost:3000)
  // and fail its preflight. `window.origin` is the public view of that field.
  if (dom.window.origin !== o) dom.window._origin = o;
  expect(dom.window.origin).toBe(o);
  expect(window.location.origin).toBe(o);
  expect(document.location.href).toBe(`${o}/`);
}

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const bytesOf = async (f: Blob) => new Uint8Array(await f.arrayBuffer());

/** `x-ut-range-start` of an ingest URL, asked of the demo itself. */
async function rangeStart(ingestPath: string): Promise<number> {
  const res = await fetch(`${origin()}${ingestPath}`, { method: "HEAD" });
  expect(res.status).toBe(200);
  const v = res.headers.get("x-ut-range-start");
  expect(v).toMatch(/^\d+$/);
  return Number(v);
}

/**
 * `x-ut-range-start` once the server has wound down a PUT whose connection was just cut: asked
 * until it is above 0, for at most 5 s. (How fast the server notices a closed connection is
 * not what these tests are about; a HEAD that overtakes it is tested on its own below.)
 */
async function settledRangeStart(ingestPath: string): Promise<number> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const at = await rangeStart(ingestPath);
    if (at > 0 || Date.now() > deadline) return at;
    await sleep(50);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function statusJson(key: string): Promise<{ status: string; serverData?: unknown }> {
  const res = await fetch(`${base()}/files/${key}`);
  expect(res.status).toBe(200);
  return (await res.json()) as { status: string; serverData?: unknown };
}

/**
 * Fetches `url` and checks it serves exactly `want` (compared whole, not with `toEqual`, whose
 * element-by-element walk takes seconds per MiB).
 */
async function expectServed(url: string, want: Uint8Array): Promise<void> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  const got = Buffer.from(await res.arrayBuffer());
  expect(got.length).toBe(want.length);
  expect(got.equals(want), `the bytes served at ${url} differ from the file's`).toBe(true);
}

/** What the client asked of `fetch` (the route handler's POST, the ingest HEADs), with the answers. */
interface Call {
  method: string;
  url: string;
  status: number;
  json?: unknown;
}

/** A `fetch` for genUploader that passes every request on to the real one and records it. */
function recordingFetch() {
  const calls: Call[] = [];
  const fetchFn = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    const method = init?.method ?? "GET";
    const res = await fetch(input, init);
    const call: Call = { method, url, status: res.status };
    if (method === "POST") call.json = await res.clone().json().catch(() => "(not JSON)");
    calls.push(call);
    return res;
  };
  return { fetch: fetchFn, calls };
}

/** The error an upload was refused with (fails if it was not). */
async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error("expected the upload to be refused");
    },
    (e: unknown) => e,
  );
}

// ---------------------------------------------------------------------------------------------
// A recording HTTP proxy in front of the demo. The demo builds its ingest URLs from the Host
// header, so with the document on the proxy's origin every request of the client (POST, HEAD,
// the XHR PUTs) goes through it. It can stall the next PUT after a given number of body bytes:
// jsdom's XHR reports upload progress only once the whole body is sent (so a pause cannot be
// timed from `onUploadProgress`), and over loopback a few MiB go in milliseconds; this is how a
// pause or an abort is made to land mid-file, deterministically. While stalled the proxy does
// not read from the client at all (so the client is still sending); `release()` then reads and
// drops the rest, which also lets it see the client's connection close.

interface Exchange {
  method: string;
  /** Path and query, as the client sent them. */
  path: string;
  headers: IncomingHttpHeaders;
  /** Request body bytes passed on to the demo (all of which reach it, also when cut). */
  forwarded: number;
  status?: number;
  /** Settles once the client's side is over: the answer sent in full, or the connection cut. */
  closed: Promise<"answered" | "cut">;
  /** For a stalled PUT: read (and drop) the rest of what the client sends. */
  release(): void;
}

interface Proxy {
  origin: string;
  exchanges: Exchange[];
  /** The next PUT passes `bytes` of its body on, then nothing more; resolves when it got there. */
  stallNextPut(bytes: number): Promise<Exchange>;
  close(): Promise<void>;
}

async function startProxy(target: string): Promise<Proxy> {
  const t = new URL(target);
  const exchanges: Exchange[] = [];
  let gate: { bytes: number; reached: (ex: Exchange) => void } | undefined;
  const server = createServer((req, res) => {
    let settle!: (how: "answered" | "cut") => void;
    const ex: Exchange = {
      method: req.method ?? "",
      path: req.url ?? "",
      headers: req.headers,
      forwarded: 0,
      closed: new Promise((r) => (settle = r)),
      release: () => req.resume(),
    };
    exchanges.push(ex);
    const stall = req.method === "PUT" ? gate : undefined;
    if (stall) gate = undefined;
    let stalled = false;
    const upstream = request(
      { hostname: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        ex.status = up.statusCode;
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on("error", () => res.destroy());
    // Settles once everything written to the demo so far has been handed to the OS.
    let flushed: Promise<void> = Promise.resolve();
    const forward = (bytes: Buffer) => {
      ex.forwarded += bytes.length;
      flushed = new Promise((r) => upstream.write(bytes, () => r()));
    };
    req.on("data", (chunk: Buffer) => {
      if (stalled) return;
      if (stall && ex.forwarded + chunk.length >= stall.bytes) {
        forward(chunk.subarray(0, stall.bytes - ex.forwarded));
        stalled = true;
        req.pause();
        stall.reached(ex);
        return;
      }
      forward(chunk);
    });
    req.on("end", () => {
      if (!stalled) upstream.end();
    });
    res.on("close", () => {
      if (res.writableFinished) return settle("answered");
      // The client went away: so does the request to the demo, cut after the bytes that were
      // passed on (all of them reach the demo: destroying the socket at once could drop some).
      void flushed.then(() => {
        upstream.destroy();
        settle("cut");
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    exchanges,
    stallNextPut: (bytes) => new Promise((reached) => (gate = { bytes, reached })),
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** How the client's side of `ex` ended, or "open" if it has not within `ms`. */
function outcome(ex: Exchange, ms = 10_000): Promise<"answered" | "cut" | "open"> {
  return Promise.race([ex.closed, new Promise<"open">((r) => setTimeout(() => r("open"), ms))]);
}

/** What the client sent through the proxy: method, and `Range` for the PUTs. */
const traffic = (p: Proxy) =>
  p.exchanges.map((e) => (e.method === "PUT" ? `PUT ${String(e.headers.range)}` : e.method));

// ---------------------------------------------------------------------------------------------

beforeEach(() => setDocumentOrigin(origin()));

describe("the route config (GET {base}/uploadthing)", () => {
  it("lists every demo route in UploadThing's notation", async () => {
    const res = await fetch(`${base()}/uploadthing`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    const image = (maxFileSize: string, maxFileCount = 1) => ({
      maxFileSize,
      maxFileCount,
      minFileCount: 1,
      contentDisposition: "inline",
      acl: "public-read",
    });
    // The tests below upload to each of these: a new demo route needs a test here.
    expect(await res.json()).toEqual([
      { slug: "profilePicture", config: { image: image("2MB") } },
      { slug: "messageAttachment", config: { image: image("4MB"), video: image("16MB") } },
      { slug: "mediaPost", config: { image: image("2MB", 4), video: image("256MB") } },
      {
        slug: "documentReview",
        config: {
          pdf: { maxFileSize: "8MB", maxFileCount: 1, minFileCount: 1, contentDisposition: "attachment", acl: "private" },
        },
      },
    ]);
  });
});

describe("uploads to every demo route with genUploader", () => {
  const ut = () => genUploader<DemoRouter>({ url: ENDPOINT });

  it("profilePicture: awaits the hook's server data", async () => {
    const file = png("me.png", 300_000, 4);
    const bytes = await bytesOf(file);
    const begun: string[] = [];
    const res = await ut().uploadFiles("profilePicture", {
      files: [file],
      headers: ann,
      onUploadBegin: ({ file: name }) => begun.push(name),
    });
    expect(res).toHaveLength(1);
    const r = res[0]!;
    expect(begun).toEqual(["me.png"]);
    expect(r.name).toBe("me.png");
    expect(r.size).toBe(300_000);
    expect(r.type).toBe("image/png");
    expect(r.lastModified).toBe(file.lastModified);
    expect(r.customId).toBeNull();
    expect(r.key).toMatch(/^[A-Za-z0-9_-]{16,}$/);
    expect(r.ufsUrl).toBe(`${base()}/download/${r.key}`);
    expect(r.fileHash).toBe(sha(bytes));
    expect(r.serverData).toEqual({ url: r.ufsUrl, uploadedBy: "ann" });
    await expectServed(r.ufsUrl, bytes);
    expect((await statusJson(r.key)).status).toBe("complete");
  });

  for (const [kind, make] of [
    ["image", () => jpeg("cat.jpg", 120_000, 5)],
    ["video", () => mp4("clip.mp4", 2 * MiB, 6)],
  ] as const) {
    it(`messageAttachment (${kind}): serverData null in the answer, the hook's answer at the status URL`, async () => {
      const file = make();
      const bytes = await bytesOf(file);
      const [r] = await ut().uploadFiles("messageAttachment", { files: [file], headers: ann });
      expect(r!.name).toBe(file.name);
      expect(r!.size).toBe(file.size);
      expect(r!.type).toBe(file.type);
      expect(r!.customId).toBeNull();
      expect(r!.ufsUrl).toBe(`${base()}/download/${r!.key}`);
      expect(r!.fileHash).toBe(sha(bytes));
      expect(r!.serverData).toBeNull();
      await expectServed(r!.ufsUrl, bytes);
      // The hook ran in the background with the middleware's metadata.
      let later: { status: string; serverData?: unknown } | undefined;
      await eventually(async () => (later = await statusJson(r!.key)).status === "complete");
      expect(later!.serverData).toEqual({ messageId: expect.stringMatching(/^msg_[0-9a-f]{12}$/), attachedBy: "ann", kind });
    });
  }

  it("mediaPost: typed input, three files, custom ids from the middleware", async () => {
    const files = [png("one.png", 5000, 1), png("two.png", 1_500_000, 2), mp4("clip.mp4", 3 * MiB, 3)];
    const bytes = await Promise.all(files.map(bytesOf));
    const res = await ut().uploadFiles("mediaPost", {
      files,
      headers: ann,
      input: { caption: "  a day at the beach " },
    });
    expect(res).toHaveLength(3);
    // UploadThing's client names the results after the local files (the server renamed them).
    expect(res.map((r) => r.name)).toEqual(["one.png", "two.png", "clip.mp4"]);
    expect(res.map((r) => r.size)).toEqual([5000, 1_500_000, 3 * MiB]);
    expect(res.map((r) => r.type)).toEqual(["image/png", "image/png", "video/mp4"]);
    const postId = res[0]!.customId!.split("/")[0]!;
    expect(postId).toMatch(/^post_[0-9a-f]{12}$/);
    expect(res.map((r) => r.customId)).toEqual([`${postId}/1`, `${postId}/2`, `${postId}/3`]);
    expect(new Set(res.map((r) => r.key)).size).toBe(3);
    for (const [i, r] of res.entries()) {
      expect(r.ufsUrl).toBe(`${base()}/download/${r.key}`);
      expect(r.fileHash).toBe(sha(bytes[i]!));
      expect(r.serverData).toBeNull();
      await expectServed(r.ufsUrl, bytes[i]!);
    }
    let later: { status: string; serverData?: unknown } | undefined;
    await eventually(async () => (later = await statusJson(res[2]!.key)).status === "complete");
    expect(later!.serverData).toEqual({
      postId,
      author: "ann",
      caption: "a day at the beach",
      mediaId: `${postId}/3`,
      kind: "video",
    });
  });

  it("documentReview: a private PDF, the review ticket awaited", async () => {
    const file = pdf("contract.pdf", 3);
    const bytes = await bytesOf(file);
    const [r] = await ut().uploadFiles("documentReview", { files: [file], headers: ann });
    expect(r!.name).toBe("contract.pdf");
    expect(r!.size).toBe(bytes.length);
    expect(r!.type).toBe("application/pdf");
    expect(r!.customId).toBeNull();
    expect(r!.fileHash).toBe(sha(bytes));
    expect(r!.serverData).toEqual({
      reviewId: expect.stringMatching(/^rev_[0-9a-f]{12}$/),
      submittedBy: "ann",
      pagesEstimate: 3,
      estimateMethod: "counted the /Type /Page objects",
      ticketNumber: expect.any(Number),
      sha256: sha(bytes),
    });
    expect(Number.isInteger(r!.serverData.ticketNumber) && r!.serverData.ticketNumber >= 1).toBe(true);
    // Private: the URL is signed; the bare download URL answers as an unknown key does.
    const url = new URL(r!.ufsUrl);
    expect(`${url.origin}${url.pathname}`).toBe(`${base()}/download/${r!.key}`);
    expect(url.searchParams.get("sig")).toBeTruthy();
    await expectServed(r!.ufsUrl, bytes);
    expect((await fetch(`${base()}/download/${r!.key}`)).status).toBe(404);
  });
});

describe("refusals, as UploadThing's client reports them", () => {
  /** A refused upload request: the client's error, and that no file was started. */
  async function refused(
    upload: (ut: ReturnType<typeof genUploader<DemoRouter>>) => Promise<unknown>,
  ): Promise<UploadThingError & { cause: { message: string; error: { code: string; message: string } } }> {
    const rec = recordingFetch();
    const e = await rejection(upload(genUploader<DemoRouter>({ url: ENDPOINT, fetch: rec.fetch })));
    expect(e).toBeInstanceOf(UploadThingError);
    // One request: the refused POST. No ingest URL was handed out, so no HEAD and no PUT.
    expect(rec.calls.map((c) => c.method)).toEqual(["POST"]);
    const err = e as UploadThingError & { cause: { message: string; error: { code: string; message: string } } };
    // The whole body is the error's cause: UploadThing's `message`, Uplift's error beside it.
    expect(err.cause.message).toBe(err.message);
    expect(err.cause.error.message).toBe(err.message);
    expect(err.data).toBeUndefined();
    return err;
  }

  it("an unknown slug: 404 NOT_FOUND", async () => {
    const e = await refused((ut) =>
      // @ts-expect-error: not a route of the router
      ut.uploadFiles("nope", { files: [png("a.png")], headers: ann }),
    );
    expect(e.code).toBe("NOT_FOUND");
    expect(e.message).toBe("no file route of that name");
    expect(e.cause.error.code).toBe("NOT_FOUND");
  });

  it("no user: the middleware's 401, which UploadThing's client reports as INTERNAL_SERVER_ERROR", async () => {
    const e = await refused((ut) => ut.uploadFiles("profilePicture", { files: [png("a.png")] }));
    expect(e.code).toBe("INTERNAL_SERVER_ERROR");
    expect(e.message).toBe(
      "sign in first: send an `x-user: <name>` header, or use the sign-in form on the demo page",
    );
    expect(e.cause.error.code).toBe("UNAUTHORIZED");
  });

  it("a user name the middleware refuses: its 401 message", async () => {
    const e = await refused((ut) =>
      ut.uploadFiles("documentReview", { files: [pdf("a.pdf", 1)], headers: { "x-user": "no spaces please" } }),
    );
    expect(e.code).toBe("INTERNAL_SERVER_ERROR");
    expect(e.message).toBe("user names are 1-32 characters of letters, digits, '.', '_' or '-'");
    expect(e.cause.error.code).toBe("UNAUTHORIZED");
  });

  it("a 3 MiB image on the 2 MB route: 413 TOO_LARGE", async () => {
    const e = await refused((ut) =>
      ut.uploadFiles("profilePicture", { files: [png("big.png", 3 * MiB)], headers: ann }),
    );
    expect(e.code).toBe("TOO_LARGE");
    expect(e.message).toBe("file 0 is 3145728 bytes; image files may be at most 2097152 bytes");
    expect(e.cause.error.code).toBe("TOO_LARGE");
  });

  it("a type the route does not take: 415, reported as INTERNAL_SERVER_ERROR", async () => {
    const e = await refused((ut) =>
      ut.uploadFiles("profilePicture", {
        files: [new File(["hello"], "notes.txt", { type: "text/plain" })],
        headers: ann,
      }),
    );
    expect(e.code).toBe("INTERNAL_SERVER_ERROR");
    expect(e.message).toBe("the type of file 0 is not accepted by this route (accepted: image/*)");
    expect(e.cause.error.code).toBe("UNSUPPORTED_TYPE");
  });

  it("a blank caption: 400 BAD_REQUEST", async () => {
    const e = await refused((ut) =>
      ut.uploadFiles("mediaPost", { files: [png("a.png")], headers: ann, input: { caption: "   " } }),
    );
    expect(e.code).toBe("BAD_REQUEST");
    expect(e.message).toBe("input is invalid (fields: caption)");
    expect(e.cause.error.code).toBe("INVALID_INPUT");
  });

  it("no input where the route needs one: 400 BAD_REQUEST", async () => {
    const e = await refused((ut) =>
      // @ts-expect-error: mediaPost's input is required
      ut.uploadFiles("mediaPost", { files: [png("a.png")], headers: ann }),
    );
    expect(e.code).toBe("BAD_REQUEST");
    expect(e.message).toBe("input does not match the route's input type: missing field `caption`");
    expect(e.cause.error.code).toBe("INVALID_INPUT");
  });

  it("bytes that are not their declared type: the ingest PUT is refused, UPLOAD_FAILED", async () => {
    const rec = recordingFetch();
    const png50k = await bytesOf(png("x.png", 50_000));
    const liar = new File([png50k], "liar.jpg", { type: "image/jpeg" });
    const e = await rejection(
      genUploader<DemoRouter>({ url: ENDPOINT, fetch: rec.fetch }).uploadFiles("profilePicture", {
        files: [liar],
        headers: ann,
      }),
    );
    expect(e).toBeInstanceOf(UploadThingError);
    const err = e as UploadThingError;
    expect(err.code).toBe("UPLOAD_FAILED");
    // For a refused PUT the client shows the status line and keeps the body as `data`.
    expect(err.message).toBe("XHR failed 415 Unsupported Media Type");
    expect(err.data).toEqual({
      message: "the content is image/png, not its declared type",
      error: {
        code: "UNSUPPORTED_TYPE",
        message: "the content is image/png, not its declared type",
        data: { detected: "image/png" },
      },
    });
    expect(rec.calls.map((c) => c.method)).toEqual(["POST", "HEAD"]);
    const [presigned] = rec.calls[0]!.json as { key: string }[];
    expect((await statusJson(presigned!.key)).status).toBe("failed");
    expect((await fetch(`${base()}/download/${presigned!.key}`)).status).toBe(404);
  });
});

describe("abort, pause and resume", () => {
  let proxy: Proxy | undefined;
  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
  });

  it("uploadFiles with an AbortSignal aborted mid-file rejects with UploadAbortedError", async () => {
    proxy = await startProxy(origin());
    setDocumentOrigin(proxy.origin);
    const file = mp4("never.mp4", 4 * MiB, 8);
    const ac = new AbortController();
    const stalled = proxy.stallNextPut(1 * MiB);
    const rec = recordingFetch();
    const upload = genUploader<DemoRouter>({ url: ENDPOINT, fetch: rec.fetch }).uploadFiles("messageAttachment", {
      files: [file],
      headers: ann,
      signal: ac.signal,
    });
    const put = await stalled;
    ac.abort();
    const e = await rejection(upload);
    expect(e).toBeInstanceOf(UploadAbortedError);
    expect((e as UploadAbortedError)._tag).toBe("UploadAborted");
    // The XHR was really aborted: its connection is gone, and nothing else was sent.
    put.release();
    expect(await outcome(put)).toBe("cut");
    expect(traffic(proxy)).toEqual(["POST", "HEAD", "PUT bytes=0-"]);
    // The server keeps what arrived, to resume from; nothing is stored or served.
    // Where the bytes stopped: never more than got through (1 MiB of body, the multipart
    // preamble included), and not much less (seen: all but the 80-byte tail the server cannot
    // yet tell from a closing boundary, at times a few KiB less).
    const at = await settledRangeStart(put.path);
    expect(put.forwarded).toBe(1 * MiB);
    expect(at).toBeLessThan(put.forwarded);
    expect(at).toBeGreaterThan(put.forwarded - 64 * 1024);
    const [presigned] = rec.calls[0]!.json as { key: string; url: string }[];
    expect(presigned!.url).toBe(`${proxy.origin}${put.path}`);
    const key = presigned!.key;
    expect((await statusJson(key)).status).toBe("uploading");
    expect((await fetch(`${base()}/download/${key}`)).status).toBe(404);
  });

  it("createUpload: pauseUpload mid-file, resumeUpload sends only the rest", async () => {
    proxy = await startProxy(origin());
    setDocumentOrigin(proxy.origin);
    const size = 8 * MiB;
    const file = mp4("long.mp4", size, 9);
    const bytes = await bytesOf(file);
    const loaded: number[] = [];
    const stalled = proxy.stallNextPut(3 * MiB);
    const upload = await genUploader<DemoRouter>({ url: ENDPOINT }).createUpload("messageAttachment", {
      files: [file],
      headers: ann,
      onUploadProgress: (p) => loaded.push(p.loaded),
    });
    const first = await stalled;
    upload.pauseUpload(file);
    first.release();
    expect(await outcome(first)).toBe("cut");
    // Between pause and resume: the server holds the first part of the file.
    const at = await settledRangeStart(first.path);
    expect(first.forwarded).toBe(3 * MiB);
    expect(at).toBeLessThan(first.forwarded);
    expect(at).toBeGreaterThan(first.forwarded - 64 * 1024);
    upload.resumeUpload(file);
    const r = await upload.done(file);
    // The resumed PUT went to the same URL, from the server's offset, with the rest only.
    expect(traffic(proxy)).toEqual(["POST", "HEAD", "PUT bytes=0-", "HEAD", `PUT bytes=${at}-`]);
    const second = proxy.exchanges[4]!;
    expect(second.path).toBe(first.path);
    expect(await outcome(second)).toBe("answered");
    expect(second.status).toBe(200);
    const overhead = second.forwarded - (size - at); // the multipart framing around the rest
    expect(overhead).toBeGreaterThan(0);
    expect(overhead).toBeLessThan(1024);
    // The client's own view: its first progress is 0 (fresh), then `at` (the resumed HEAD).
    expect(loaded.slice(0, 2)).toEqual([0, at]);
    // The stored file is the original.
    expect(r.name).toBe("long.mp4");
    expect(r.size).toBe(size);
    expect(r.fileHash).toBe(sha(bytes));
    expect(r.serverData).toBeNull();
    expect(r.ufsUrl).toBe(`${proxy.origin}/api/uploads/download/${r.key}`);
    await expectServed(`${base()}/download/${r.key}`, bytes);
  });

  it("createUpload: pauseUpload then resumeUpload at once, before the server saw the paused PUT end", async () => {
    // A user clicking pause, then resume: the resume's HEAD can reach the server before the
    // server has seen the paused PUT's connection close (here the proxy passes that on 300 ms
    // after the HEAD arrived; behind a real reverse proxy it is a matter of timing). The stock
    // client reads only `x-ut-range-start` of the HEAD, never its status (a 423 without the
    // header means "start at 0" to it), then PUTs from there: so the resume only works if the
    // HEAD waits for the paused PUT to end and answers the offset it left.
    proxy = await startProxy(origin());
    setDocumentOrigin(proxy.origin);
    const size = 6 * MiB;
    const file = mp4("quick.mp4", size, 10);
    const bytes = await bytesOf(file);
    const stalled = proxy.stallNextPut(2 * MiB);
    const upload = await genUploader<DemoRouter>({ url: ENDPOINT }).createUpload("messageAttachment", {
      files: [file],
      headers: ann,
    });
    const first = await stalled;
    upload.pauseUpload(file);
    upload.resumeUpload(file);
    const done = upload.done(file).then(
      (r) => ({ ok: true as const, r }),
      (e: unknown) => ({ ok: false as const, e }),
    );
    await eventually(async () => proxy!.exchanges.length >= 4);
    expect(proxy.exchanges[3]!.method).toBe("HEAD");
    await sleep(300);
    first.release();
    expect(await outcome(first)).toBe("cut");
    const result = await done;
    const resumed = proxy.exchanges[4];
    const seen = `resume: ${traffic(proxy).join(", ")}; the resumed PUT answered ${resumed?.status}`;
    if (!result.ok) {
      const e = result.e as UploadThingError;
      expect.fail(`the resumed upload failed: ${e.code} ${e.message} ${JSON.stringify(e.data)} (${seen})`);
    }
    const r = result.r;
    expect(traffic(proxy), seen).toEqual(["POST", "HEAD", "PUT bytes=0-", "HEAD", expect.stringMatching(/^PUT bytes=[1-9]\d*-$/)]);
    expect(r.fileHash).toBe(sha(bytes));
    await expectServed(`${base()}/download/${r.key}`, bytes);
  });
});

describe("the pinned uploadthing version", () => {
  it("is installed, sent by the client, and answered by the server", async () => {
    const why =
      `uploadthing is pinned to ${PINNED_UPLOADTHING}, the version whose wire format the server ` +
      "(server/src/endpoints/uploadthing.rs) was checked against. Changing the pin means re-checking " +
      "the wire format (docs/uploadthing.md) against the new client, then updating UPLOADTHING_VERSION " +
      "(server/src/protocol/uploadthing.rs), client-ts/package.json and PINNED_UPLOADTHING here together.";
    const require = createRequire(import.meta.url);
    const installed = (JSON.parse(readFileSync(require.resolve("uploadthing/package.json"), "utf8")) as { version: string })
      .version;
    expect(installed, why).toBe(PINNED_UPLOADTHING);
    expect(clientVersion, why).toBe(PINNED_UPLOADTHING);
    const here = dirname(fileURLToPath(import.meta.url));
    const manifest = JSON.parse(readFileSync(join(here, "../package.json"), "utf8")) as {
      devDependencies: Record<string, string>;
    };
    expect(manifest.devDependencies.uploadthing, why).toBe(PINNED_UPLOADTHING);
    const res = await fetch(`${base()}/uploadthing`);
    expect(res.headers.get("x-uploadthing-version"), why).toBe(PINNED_UPLOADTHING);
    const refused = await fetch(`${base()}/uploadthing?actionType=upload&slug=nope`, { method: "POST", body: "{}" });
    expect(refused.status).toBe(404);
    expect(refused.headers.get("x-uploadthing-version"), why).toBe(PINNED_UPLOADTHING);
  });
});
