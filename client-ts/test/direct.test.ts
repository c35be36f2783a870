// Uploads straight to the storage bucket: a second demo stores in the S3 bucket of
// `UPLIFT_S3_*` (Garage in CI); with `sha256: true` the client declares each file's SHA-256,
// the server answers with the bucket's presigned PUT and a `completeUrl`, and the bytes never
// pass through the server. Skipped without a bucket (CI requires one).

import { describe, expect, inject, it } from "vitest";
import { type UploadRouter } from "../../generated/ts/router.js";
import {
  createUploader,
  UploadError,
  uploadToSignedPost,
  uploadToSignedPut,
  type SignedPost,
  type SignedPut,
} from "../src/index.js";
import { eventually, mp4, pdf, png, recordingFetch, sha256 } from "./helpers.js";

const MB = 1024 * 1024;

const s3Origin = inject("s3Origin");
const s3Base = () => `${s3Origin}/api/uploads`;

describe.skipIf(!s3Origin)("uploads straight to the bucket", () => {
  it("sends the bytes to the bucket, then completes through the server with the server data", async () => {
    const rec = recordingFetch();
    const up = createUploader<UploadRouter>({ url: s3Base(), fetch: rec.fetch, headers: { "x-user": "ann" }, sha256: true });
    const file = pdf("contract.pdf", 5);
    const [res] = await up.upload("documentReview", { files: [file] });
    // The hook read the PDF back from the bucket.
    expect(res!.serverData.pagesEstimate).toBe(5);
    expect(res!.sha256).toBe(await sha256(file));
    // Never read by the server: no CRC32.
    expect(res!.crc32).toBeNull();
    const puts = rec.sent.filter((s) => s.method === "PUT");
    expect(puts).toHaveLength(1);
    expect(new URL(puts[0]!.url).origin).not.toBe(s3Origin);
    expect(rec.sent.some((s) => s.method === "POST" && new URL(s.url).pathname.endsWith("/complete"))).toBe(true);
    // The private file's signed URL redirects to the bucket, which serves the bytes.
    const got = await fetch(res!.url);
    expect(got.status).toBe(200);
    expect(new URL(got.url).origin).not.toBe(s3Origin);
    expect(Buffer.from(await got.arrayBuffer()).equals(Buffer.from(await file.arrayBuffer()))).toBe(true);
  });

  it("without sha256 the same server takes the bytes itself", async () => {
    const up = createUploader<UploadRouter>({ url: s3Base(), headers: { "x-user": "ann" } });
    const [res] = await up.upload("profilePicture", { files: [png("me.png")] });
    expect(res!.crc32).toBeTypeOf("number");
    expect(res!.serverData).toBeTruthy();
  });

  it("a file the bucket took but the route refuses fails, and is gone", async () => {
    const up = createUploader<UploadRouter>({ url: s3Base(), headers: { "x-user": "ann" }, sha256: true });
    // A PNG declared as a PDF: the bucket cannot tell, the completion sniffs it.
    const fake = new File([await png("x.png").arrayBuffer()], "x.pdf", { type: "application/pdf" });
    const err = await up.upload("documentReview", { files: [fake] }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UploadError);
    expect((err as UploadError).code).toBe("UNSUPPORTED_TYPE");
  });

  // The S3 demo sends files above 8 MiB straight to the bucket in parts of 8 MiB.
  const statusOf = async (key: string) => {
    const res = await fetch(`${s3Base()}/files/${key}`);
    return (await res.json()) as { status: string; error: { code: string } | null };
  };

  it("a large file goes to the bucket in parallel parts, with byte progress", async () => {
    const rec = recordingFetch();
    const up = createUploader<UploadRouter>({ url: s3Base(), fetch: rec.fetch, headers: { "x-user": "ann" }, sha256: true, tus: false });
    const file = mp4("large.mp4", 30 * MB);
    const loaded: number[] = [];
    const [res] = await up.upload("mediaPost", {
      files: [file],
      input: { caption: "in parts" },
      onProgress: (p) => loaded.push(p.loaded),
    });
    expect(res!.sha256).toBe(await sha256(file));
    // Read back by the server to verify the SHA-256: it has a CRC32.
    expect(res!.crc32).toBeTypeOf("number");
    expect(res!.size).toBe(file.size);
    const puts = rec.sent.filter((s) => s.method === "PUT");
    expect(puts).toHaveLength(4);
    expect(puts.every((s) => new URL(s.url).origin !== s3Origin)).toBe(true);
    expect(rec.maxConcurrentPuts()).toBeGreaterThan(1);
    expect(loaded.length).toBeGreaterThan(4);
    expect(loaded.at(-1)).toBe(file.size);
    const got = await fetch(res!.url);
    expect(Buffer.from(await got.arrayBuffer()).equals(Buffer.from(await file.arrayBuffer()))).toBe(true);
  });

  it("cancel aborts the bucket's multipart upload", async () => {
    const rec = recordingFetch();
    const up = createUploader<UploadRouter>({ url: s3Base(), fetch: rec.fetch, headers: { "x-user": "ann" }, sha256: true, tus: false });
    let key = "";
    const handle = up.createUpload("mediaPost", {
      files: [mp4("cancelled.mp4", 24 * MB)],
      input: { caption: "cancelled" },
      onUploadBegin: (f) => (key = f.key),
      onProgress: (p) => {
        if (p.loaded >= 2 * MB) handle.cancel();
      },
    });
    const err = await handle.promise.catch((e: unknown) => e);
    expect((err as UploadError).code).toBe("ABORTED");
    expect(rec.count("POST", "/abort")).toBe(1);
    const st = await statusOf(key);
    expect(st.status).toBe("failed");
    expect(st.error!.code).toBe("CANCELLED");
  });

  it("pause drops the parts in flight; resume sends only what the bucket lacks", async () => {
    const rec = recordingFetch();
    const up = createUploader<UploadRouter>({ url: s3Base(), fetch: rec.fetch, headers: { "x-user": "ann" }, sha256: true, tus: false });
    const file = mp4("paused.mp4", 40 * MB);
    let pausedOnce = false;
    const handle = up.createUpload("mediaPost", {
      files: [file],
      input: { caption: "paused" },
      onProgress: (p) => {
        // Four parts go at once: past 32 MiB the fifth is on its way, so one is in the bucket.
        if (!pausedOnce && p.loaded > 33 * MB) {
          pausedOnce = true;
          handle.pause();
        }
      },
    });
    await eventually(async () => pausedOnce);
    expect(handle.paused).toBe(true);
    const putsBefore = rec.count("PUT");
    handle.resume();
    const [res] = await handle.promise;
    expect(res!.sha256).toBe(await sha256(file));
    // The resume asked the bucket what it has, and did not send all five parts again.
    expect(rec.count("POST", "/parts")).toBeGreaterThanOrEqual(1);
    expect(rec.count("PUT") - putsBefore).toBeLessThan(5);
  });

  it("after a reload, the same file goes on with the parts the bucket has", async () => {
    const remembered = new Map<string, string>();
    const partsStorage = {
      getItem: (k: string) => remembered.get(k) ?? null,
      setItem: (k: string, v: string) => void remembered.set(k, v),
      removeItem: (k: string) => void remembered.delete(k),
    };
    const options = { url: s3Base(), headers: { "x-user": "ann" }, sha256: true, tus: false as const, partsStorage };
    const file = mp4("reloaded.mp4", 40 * MB);
    let paused = false;
    const before = createUploader<UploadRouter>(options).createUpload("mediaPost", {
      files: [file],
      input: { caption: "reloaded" },
      onProgress: (p) => {
        // As above: past 32 MiB one part is in the bucket. Then the page "goes away".
        if (!paused && p.loaded > 33 * MB) {
          paused = true;
          before.pause();
        }
      },
    });
    await eventually(async () => paused);
    expect(remembered.size).toBe(1);
    // The new page: another uploader, the same storage, the same file, route and input.
    const rec = recordingFetch();
    const after = createUploader<UploadRouter>({ ...options, fetch: rec.fetch });
    const [res] = await after.upload("mediaPost", { files: [file], input: { caption: "reloaded" } });
    expect(res!.sha256).toBe(await sha256(file));
    expect(rec.count("POST", "/mediaPost")).toBe(0);
    expect(rec.count("POST", "/parts")).toBeGreaterThanOrEqual(1);
    expect(rec.count("PUT")).toBeLessThan(5);
    expect(remembered.size).toBe(0);
  });

  it("a part that fails on the way is sent again, alone", async () => {
    let puts = 0;
    let failed = false;
    const flaky = async (input: string, init?: RequestInit): Promise<Response> => {
      if (init?.method === "PUT") {
        puts++;
        if (!failed && new URL(input).searchParams.get("partNumber") === "2") {
          failed = true;
          throw new TypeError("fetch failed");
        }
      }
      return fetch(input, init);
    };
    const up = createUploader<UploadRouter>({
      url: s3Base(),
      fetch: flaky,
      headers: { "x-user": "ann" },
      sha256: true,
      tus: false,
      retries: { retries: 2, minDelay: 10 },
    });
    const file = mp4("flaky.mp4", 20 * MB);
    const [res] = await up.upload("mediaPost", { files: [file], input: { caption: "flaky" } });
    expect(res!.sha256).toBe(await sha256(file));
    expect(failed).toBe(true);
    // Three parts of 8 MiB, and part 2 once more.
    expect(puts).toBe(4);
  });
});

describe.skipIf(!s3Origin)("completions whose answer is lost", () => {
  // The first completion reaches the server, which completes the file; its answer never
  // reaches the client, which retries and finds the upload taken.
  const losingFirstAnswer = () => {
    let lost = 0;
    const fetchFn = async (input: string, init?: RequestInit): Promise<Response> => {
      const res = await fetch(input, init);
      if (init?.method === "POST" && new URL(input).pathname.endsWith("/complete") && lost === 0) {
        lost++;
        await res.text();
        throw new TypeError("fetch failed: the connection closed before the answer");
      }
      return res;
    };
    return { fetchFn, lost: () => lost };
  };

  it("one PUT: the retry reads the status and resolves with the stored file and server data", async () => {
    const net = losingFirstAnswer();
    const up = createUploader<UploadRouter>({
      url: s3Base(),
      fetch: net.fetchFn,
      headers: { "x-user": "ann" },
      sha256: true,
      retries: { retries: 2, minDelay: 10 },
    });
    const file = pdf("lost.pdf", 3);
    const [res] = await up.upload("documentReview", { files: [file] });
    expect(net.lost()).toBe(1);
    expect(res!.sha256).toBe(await sha256(file));
    expect(res!.serverData.pagesEstimate).toBe(3);
  });

  it("in parts: the same", async () => {
    const net = losingFirstAnswer();
    const up = createUploader<UploadRouter>({
      url: s3Base(),
      fetch: net.fetchFn,
      headers: { "x-user": "ann" },
      sha256: true,
      tus: false,
      retries: { retries: 2, minDelay: 10 },
    });
    const file = mp4("lost.mp4", 20 * MB);
    const [res] = await up.upload("mediaPost", { files: [file], input: { caption: "lost answer" } });
    expect(net.lost()).toBe(1);
    expect(res!.sha256).toBe(await sha256(file));
  });
});

/** Signs as `ann` on the S3 demo, asking for a URL or form straight to the bucket. */
async function signDirect<T>(what: "signed-put" | "signed-post", body: Record<string, unknown>): Promise<T> {
  const res = await fetch(`${s3Origin}/api/demo/${what}`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-user": "ann" },
    body: JSON.stringify({ ...body, direct: true }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`/api/demo/${what}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

async function refused(p: Promise<unknown>): Promise<UploadError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(UploadError);
  return e as UploadError;
}

describe.skipIf(!s3Origin)("signed uploads straight to the bucket", () => {
  it("a SignedPut goes to the bucket and is completed into a file object", async () => {
    const file = png("direct.png", 300_000);
    const signed = await signDirect<SignedPut>("signed-put", {
      dir: "users/ann/direct",
      filename: "direct.png",
      contentType: "image/png",
      sha256: await sha256(file),
    });
    expect(signed.completeUrl).toContain("/api/uploads/objects?policy=");
    expect(new URL(signed.uploadUrl).origin).not.toBe(s3Origin);
    const seen: number[] = [];
    const stored = await uploadToSignedPut(signed, file, { onProgress: (p) => seen.push(p.loaded) });
    expect(stored.folder).toBe("users/ann/direct");
    expect(stored.type).toBe("image/png");
    expect(stored.sha256).toBe(await sha256(file));
    expect(seen.at(-1)).toBe(file.size);
    const got = await fetch(stored.url);
    expect(Buffer.from(await got.arrayBuffer()).equals(Buffer.from(await file.arrayBuffer()))).toBe(true);
  });

  it("a SignedPost form goes to the bucket under the file's own name", async () => {
    const file = png("holiday.png", 5000);
    const signed = await signDirect<SignedPost>("signed-post", {
      dir: "users/ann/forms",
      keyPrefix: "2026-",
      contentTypePrefix: "image/",
      maxSize: 100_000,
    });
    expect(signed.completeUrl).toBeTruthy();
    expect(signed.form.fields["Content-Type"]).toBeUndefined();
    const stored = await uploadToSignedPost(signed, file);
    expect(stored.filename).toBe("2026-holiday.png");
    expect(stored.sha256).toBe(await sha256(file));
  });

  it("the bucket's refusals arrive as Uplift's codes", async () => {
    const file = png("wrong.png", 4000);
    const put = await signDirect<SignedPut>("signed-put", {
      dir: "users/ann/direct",
      filename: "wrong.png",
      sha256: "0".repeat(64),
    });
    expect((await refused(uploadToSignedPut(put, file))).code).toBe("CHECKSUM_MISMATCH");
    const post = await signDirect<SignedPost>("signed-post", { dir: "users/ann/forms", keyPrefix: "", maxSize: 1000 });
    expect((await refused(uploadToSignedPost(post, file))).code).toBe("POLICY_VIOLATION");
    // Sent to the bucket but not what it claims: the completion's sniffing refuses it.
    const lie = await signDirect<SignedPut>("signed-put", { dir: "users/ann/direct", filename: "lie.pdf", contentType: "application/pdf" });
    const fake = new File([await file.arrayBuffer()], "lie.pdf", { type: "application/pdf" });
    expect((await refused(uploadToSignedPut(lie, fake))).code).toBe("UNSUPPORTED_TYPE");
  });
});
