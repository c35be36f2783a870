// Uploads straight to the storage bucket: a second demo stores in the S3 bucket of
// `UPLIFT_S3_*` (Garage in CI); with `sha256: true` the client declares each file's SHA-256,
// the server answers with the bucket's presigned PUT and a `completeUrl`, and the bytes never
// pass through the server. Skipped without a bucket (CI requires one).

import { describe, expect, inject, it } from "vitest";
import { type UploadRouter } from "../../generated/ts/router.js";
import { createUploader, UploadError } from "../src/index.js";
import { pdf, png, recordingFetch, sha256 } from "./helpers.js";

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
});
