// The storage bucket's answers to files sent straight to it (`completeUrl` set): not Uplift's
// envelopes but S3's XML errors, turned into Uplift's codes so callers handle one kind of error.

import { UploadError } from "./errors.js";
import type { HttpAnswer } from "./transport.js";

/** Which request the bucket answered: a presigned `PUT`, or a POST Object form. */
export type BucketRequest = "put" | "form";

/** The S3 error code of an XML error body, when it is a plain token. */
function s3Code(body: string): string | undefined {
  return /<Code>([A-Za-z0-9]{1,64})<\/Code>/.exec(body)?.[1];
}

/**
 * Throws the `UploadError` for a bucket's refusal; returns for a 2xx. A `PUT` is refused with
 * 400 `BadDigest`/`InvalidDigest` when the bytes do not hash to the signed SHA-256
 * (`CHECKSUM_MISMATCH`), and with another 400 or a 403 when the URL or a bound header was
 * changed or it expired — AWS says 403, Garage 400 (`SIGNATURE_INVALID`). A form is refused
 * with 400 or 403 when the file breaks its policy (`POLICY_VIOLATION`). Anything else is the
 * bucket's own trouble (`INTERNAL`, retried as a server error).
 */
export function checkBucketAnswer(answer: HttpAnswer, request: BucketRequest): void {
  const { status } = answer;
  if (status >= 200 && status <= 299) return;
  const code = s3Code(answer.body);
  const said = code ? ` (${code})` : "";
  if (request === "put" && status === 400 && (code === "BadDigest" || code === "InvalidDigest")) {
    throw new UploadError("CHECKSUM_MISMATCH", `the storage bucket refused the bytes${said}: they are not the file as signed`, { status });
  }
  if (request === "put" && (status === 400 || status === 403)) {
    throw new UploadError("SIGNATURE_INVALID", `the storage bucket refused the upload URL${said}: changed, expired, or a header differs`, { status });
  }
  if (request === "form" && (status === 400 || status === 403)) {
    throw new UploadError("POLICY_VIOLATION", `the storage bucket refused the form${said}: the file breaks its policy, or it expired`, { status });
  }
  throw new UploadError("INTERNAL", `the storage bucket answered ${status}${said}`, { status });
}
