// Signed uploads against the real demo: a URL, a form and a token from the demo's signing
// endpoints, sent with progress through the client's transport; cancellation; refusals.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, inject, it } from "vitest";
import { CHUNK_SIZE } from "../src/transport.js";
import {
  deleteObject,
  listObjects,
  UploadError,
  uploadToSignedPost,
  uploadToSignedPut,
  uploadWithToken,
  type FileObject,
  type SignedPost,
  type SignedPut,
  type SignedUploadProgress,
  type UploadToken,
} from "../src/index.js";
import { base, mp4, origin, png, sha256 } from "./helpers.js";

interface SignBody {
  dir?: string;
  filename?: string;
  contentType?: string;
  maxSize?: number;
  minSize?: number;
  expiresIn?: number;
  oneTime?: boolean;
  allowDelete?: boolean;
  allowList?: boolean;
}

/** As `ann`: the demo signs only into the caller's own folder, `users/ann` and below. */
async function sign<T>(what: "signed-put" | "signed-post" | "token", body: SignBody): Promise<T> {
  const res = await fetch(`${origin()}/api/demo/${what}`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-user": "ann" },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`/api/demo/${what}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

async function refusal(p: Promise<unknown>): Promise<UploadError> {
  const e: unknown = await p.then(
    () => {
      throw new Error("expected the upload to be refused");
    },
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(UploadError);
  return e as UploadError;
}

/** The bytes the demo stored for a file object (local backend layout). */
function stored(file: FileObject): Buffer {
  return readFileSync(join(inject("dataDir"), "files", "objects", file.folder, file.filename));
}

/** Progress is byte-accurate: monotonic, one chunk at a time, ending at the total. */
function expectByteProgress(seen: SignedUploadProgress[], total: number): void {
  expect(seen.length).toBeGreaterThan(2);
  for (const p of seen) expect(p.total).toBe(total);
  for (let i = 1; i < seen.length; i++) {
    expect(seen[i]!.loaded).toBeGreaterThan(seen[i - 1]!.loaded);
    expect(seen[i]!.loaded - seen[i - 1]!.loaded).toBeLessThanOrEqual(CHUNK_SIZE);
  }
  expect(seen.at(-1)).toEqual({ loaded: total, total, percentage: 100 });
}

describe("signed uploads", () => {
  it("PUTs to a SignedPut with byte-accurate progress and resolves to the file object", async () => {
    const file = png("put.png", 3 * 1024 * 1024 + 11);
    const signed = await sign<SignedPut>("signed-put", { dir: "users/ann/ts/put", filename: "put.png" });
    const seen: SignedUploadProgress[] = [];
    const obj = await uploadToSignedPut(signed, file, { onProgress: (p) => seen.push(p) });
    expect(obj).toMatchObject({
      id: signed.uploadId,
      folder: "users/ann/ts/put",
      filename: "put.png",
      filesize: file.size,
      type: "image/png",
      sha256: await sha256(file),
    });
    expectByteProgress(seen, file.size);
    expect(stored(obj).equals(Buffer.from(await file.arrayBuffer()))).toBe(true);
  });

  it("sends the Content-Type a SignedPut binds, over the file's own type (Remotion presign)", async () => {
    const bytes = new Uint8Array(await mp4("render.mp4", 300_000).arrayBuffer());
    const file = new File([bytes], "render.bin", { type: "application/octet-stream" });
    const signed = await sign<SignedPut>("signed-put", {
      dir: "users/ann/ts/renders",
      filename: "render.mp4",
      contentType: "video/mp4",
      maxSize: 200_000_000,
    });
    expect(signed.headers["Content-Type"]).toBe("video/mp4");
    const seen: SignedUploadProgress[] = [];
    const obj = await uploadToSignedPut(signed, file, { onProgress: (p) => seen.push(p) });
    expect(obj).toMatchObject({ filename: "render.mp4", type: "video/mp4", filesize: 300_000 });
    expectByteProgress(seen, 300_000);
  });

  it("PUTs to a bare upload URL", async () => {
    const file = png("bare.png", 5000);
    const signed = await sign<SignedPut>("signed-put", { dir: "users/ann/ts/bare", filename: "bare.png" });
    const obj = await uploadToSignedPut(signed.uploadUrl, file);
    expect(obj.sha256).toBe(await sha256(file));
  });

  it("POSTs through a SignedPost form with progress over the file's bytes only", async () => {
    const file = mp4("clip.mp4", 2 * 1024 * 1024 + 3);
    const signed = await sign<SignedPost>("signed-post", { dir: "users/ann/ts/post", filename: "clip.mp4" });
    const seen: SignedUploadProgress[] = [];
    const obj = await uploadToSignedPost(signed, file, { onProgress: (p) => seen.push(p) });
    expect(obj).toMatchObject({ id: signed.uploadId, folder: "users/ann/ts/post", filesize: file.size, type: "video/mp4" });
    expect(obj.sha256).toBe(await sha256(file));
    expect(seen.at(-1)).toEqual({ loaded: file.size, total: file.size, percentage: 100 });
    for (let i = 1; i < seen.length; i++) expect(seen[i]!.loaded).toBeGreaterThan(seen[i - 1]!.loaded);
    expect(stored(obj).equals(Buffer.from(await file.arrayBuffer()))).toBe(true);
  });

  it("PUTs into a token's folder", async () => {
    const token = await sign<UploadToken>("token", { dir: "users/ann/ts/tok", expiresIn: 600 });
    const file = png("tok.png", 40_000);
    const obj = await uploadWithToken(base(), token, file, { filename: "deep/tok.png" });
    expect(obj).toMatchObject({ folder: "users/ann/ts/tok/deep", filename: "tok.png", filesize: 40_000 });
    expect(obj.sha256).toBe(await sha256(file));
  });

  it("cancels through an AbortSignal with ABORTED, and nothing is stored", async () => {
    const file = mp4("long.mp4", 48 * 1024 * 1024);
    const signed = await sign<SignedPut>("signed-put", { dir: "users/ann/ts/abort", filename: "long.mp4" });
    const controller = new AbortController();
    const seen: number[] = [];
    const e = await refusal(
      uploadToSignedPut(signed, file, {
        signal: controller.signal,
        onProgress: (p) => {
          seen.push(p.loaded);
          if (p.loaded >= 1024 * 1024) controller.abort();
        },
      }),
    );
    expect(e.code).toBe("ABORTED");
    expect(Math.max(...seen)).toBeLessThan(file.size);
    expect(() => stored({ folder: "users/ann/ts/abort", filename: "long.mp4" } as FileObject)).toThrow();
  });

  it("rejects with the server's code: TOO_LARGE, ALREADY_USED, TOKEN_SCOPE", async () => {
    const signed = await sign<SignedPut>("signed-put", { dir: "users/ann/ts/limits", filename: "x.png", maxSize: 1000 });
    const big = await refusal(uploadToSignedPut(signed, png("x.png", 4096)));
    expect(big.code).toBe("TOO_LARGE");
    expect(big.status).toBe(413);

    const once = await sign<SignedPut>("signed-put", { dir: "users/ann/ts/limits", filename: "once.png" });
    await uploadToSignedPut(once, png("once.png", 100));
    const again = await refusal(uploadToSignedPut(once, png("once.png", 100)));
    expect(again.code).toBe("ALREADY_USED");
    expect(again.status).toBe(409);

    const token = await sign<UploadToken>("token", { dir: "users/ann/ts/mine" });
    const scope = await refusal(uploadWithToken(base(), { ...token, dir: "users/ann/ts/theirs" }, png("s.png", 100)));
    expect(scope.code).toBe("TOKEN_SCOPE");
    expect(scope.status).toBe(403);
  });
});

describe("managing signed objects", () => {
  it("lists a folder with a token that may list, and deletes with one that may delete", async () => {
    const dir = `users/ann/ts/manage-${Math.random().toString(36).slice(2, 8)}`;
    const token = await sign<UploadToken>("token", { dir, allowDelete: true, allowList: true });
    await uploadWithToken(base(), token, png("one.png"));
    await uploadWithToken(base(), token, png("two.png"));
    const page = await listObjects(base(), token, dir, { limit: 1 });
    expect(page.objects.map((o) => o.filename)).toEqual(["one.png"]);
    const rest = await listObjects(base(), token, dir, { cursor: page.nextCursor! });
    expect(rest.objects.map((o) => o.filename)).toEqual(["two.png"]);
    expect(rest.nextCursor).toBeNull();

    const gone = await deleteObject({ base: base(), token, path: `${dir}/one.png` });
    expect(gone.filename).toBe("one.png");
    expect((await fetch(gone.url)).status).toBe(404);
    expect((await listObjects(base(), token, dir)).objects.map((o) => o.filename)).toEqual(["two.png"]);
    await expect(deleteObject({ base: base(), token, path: `${dir}/one.png` })).rejects.toMatchObject({ code: "NOT_FOUND" });

    // An upload-only token may neither list nor delete.
    const plain = await sign<UploadToken>("token", { dir });
    await expect(listObjects(base(), plain, dir)).rejects.toMatchObject({ code: "TOKEN_SCOPE", status: 403 });
    await expect(deleteObject({ base: base(), token: plain, path: `${dir}/two.png` })).rejects.toMatchObject({ code: "TOKEN_SCOPE" });
  });
});
