// Signed uploads (docs/signed.md): send one file to a URL, form or token an app's own handler
// handed out, through the same transport as route uploads (XHR progress in browsers, a chunked
// streaming body in Node), and resolve to the stored file object.

import { checkBucketAnswer, type BucketRequest } from "./bucket.js";
import { UploadError } from "./errors.js";
import { safely } from "./progress.js";
import type { FileEnvelope, FileObject, ObjectList, PostForm, SignedPost, SignedPut, UploadToken } from "./protocol.js";
import { defaultTransport, parseAnswer, put, requestJson, type FetchLike, type TransportKind } from "./transport.js";

/** Bytes of the file sent so far. `loaded` never goes down and ends at `total`. */
export interface SignedUploadProgress {
  loaded: number;
  total: number;
  /** 0–100, rounded down. */
  percentage: number;
}

export interface SignedUploadOptions {
  onProgress?: (progress: SignedUploadProgress) => void;
  signal?: AbortSignal;
  /** Extra request headers (the signed headers of a `SignedPut` are sent anyway). */
  headers?: Record<string, string>;
  /** `xhr` in browsers, `fetch` elsewhere. */
  transport?: TransportKind;
  fetch?: FetchLike;
}

export interface TokenUploadOptions extends SignedUploadOptions {
  /** The name to store the file as inside the token's folder; default: the file's name. */
  filename?: string;
}

/** Reports monotonic, clamped progress, and the total once the server has the file. */
function progressReporter(total: number, onProgress: SignedUploadOptions["onProgress"]) {
  let last = -1;
  const report = (n: number) => {
    const loaded = Math.max(0, Math.min(total, n));
    if (loaded <= last || !onProgress) return;
    last = loaded;
    const percentage = total === 0 ? 100 : Math.floor((loaded * 100) / total);
    safely(() => onProgress({ loaded, total, percentage }));
  };
  return { report, done: () => report(total) };
}

async function send(
  method: "PUT" | "POST",
  url: string,
  headers: Record<string, string>,
  body: Blob,
  fileSize: number,
  /** Bytes of `body` before the file's first byte (multipart fields). */
  offset: number,
  options: SignedUploadOptions,
  /** Set when `url` is the storage bucket's: where to complete the upload once it took it. */
  direct?: { completeUrl: string; request: BucketRequest },
): Promise<FileObject> {
  const progress = progressReporter(fileSize, options.onProgress);
  const fetchFn: FetchLike = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const controller = new AbortController();
  const outer = options.signal;
  const onAbort = () => controller.abort(outer?.reason);
  if (outer?.aborted) onAbort();
  else outer?.addEventListener("abort", onAbort, { once: true });
  try {
    const answer = await put(options.transport ?? defaultTransport(), fetchFn, {
      url,
      method,
      headers: mergeHeaders({ accept: "application/json" }, headers),
      body,
      signal: controller.signal,
      onProgress: (n) => progress.report(n - offset),
    });
    let envelope: FileEnvelope;
    if (direct) {
      // The bucket's answer is not ours; then the server checks what arrived and answers as
      // its own URL would. Not retried: a one-time completion may already be spent.
      checkBucketAnswer(answer, direct.request);
      envelope = await requestJson<FileEnvelope>(fetchFn, "POST", direct.completeUrl, {}, undefined, controller.signal);
    } else {
      envelope = parseAnswer<FileEnvelope>(answer);
    }
    if (!envelope.data) {
      throw new UploadError("INTERNAL", `the server answered ${answer.status} without a file object`, {
        status: answer.status,
      });
    }
    progress.done();
    return envelope.data;
  } finally {
    outer?.removeEventListener("abort", onAbort);
  }
}

/** Later records win, whatever the case of a name (`Content-Type` vs `content-type`). */
function mergeHeaders(...records: (Record<string, string> | undefined)[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const r of records) for (const [k, v] of Object.entries(r ?? {})) out[k.toLowerCase()] = v;
  return out;
}

function contentTypeOf(file: Blob, bound: Record<string, string>): string {
  for (const [k, v] of Object.entries(bound)) if (k.toLowerCase() === "content-type") return v;
  return file.type || "application/octet-stream";
}

/**
 * `PUT`s a file to a signed upload URL (a `SignedPut` from `get_signed_put`, or its bare
 * `uploadUrl`), with the headers the URL binds; when it goes straight to the storage bucket
 * (`completeUrl`), completes it there. Rejects with an `UploadError` carrying the server's code
 * (`EXPIRED`, `TOO_LARGE`, …), `ABORTED` or `NETWORK_ERROR`.
 */
export function uploadToSignedPut(
  signed: SignedPut | string,
  file: Blob,
  options: SignedUploadOptions = {},
): Promise<FileObject> {
  const url = typeof signed === "string" ? signed : signed.uploadUrl;
  const bound = typeof signed === "string" ? {} : signed.headers;
  const headers = mergeHeaders(bound, options.headers, { "content-type": contentTypeOf(file, bound) });
  const completeUrl = typeof signed === "string" ? null : signed.completeUrl;
  const direct = completeUrl ? { completeUrl, request: "put" as const } : undefined;
  return send("PUT", url, headers, file, file.size, 0, options, direct);
}

/**
 * POSTs a file through a signed form (a `SignedPost` from `get_signed_post`, or its `form`):
 * the fields in order, then the file as the part `file`; a form to the storage bucket
 * (`completeUrl`) gets the file's type as a `Content-Type` field and is completed there. The body is assembled as a Blob over
 * the file, so nothing is copied and progress counts the file's bytes only.
 */
export function uploadToSignedPost(
  signed: SignedPost | PostForm,
  file: Blob,
  options: SignedUploadOptions = {},
): Promise<FileObject> {
  const form = "form" in signed ? signed.form : signed;
  const completeUrl = "form" in signed ? signed.completeUrl : null;
  const boundary = `----uplift${Math.random().toString(16).slice(2)}${Date.now().toString(16)}`;
  const type = contentTypeOf(file, form.fields);
  const name = (file as { name?: unknown }).name;
  const filename = typeof name === "string" && name ? name : "file";
  const fields: Record<string, string> = { ...form.fields };
  // A form to the bucket takes the file's type from a field: its policy names one.
  if (completeUrl && !Object.keys(fields).some((k) => k.toLowerCase() === "content-type")) {
    fields["Content-Type"] = type;
  }
  let head = "";
  for (const [k, v] of Object.entries(fields)) {
    head += `--${boundary}\r\nContent-Disposition: form-data; name="${quote(k)}"\r\n\r\n${v}\r\n`;
  }
  head +=
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${quote(filename)}"\r\n` +
    `Content-Type: ${type}\r\n\r\n`;
  const headBytes = new TextEncoder().encode(head);
  const body = new Blob([headBytes, file, `\r\n--${boundary}--\r\n`]);
  const headers = mergeHeaders(options.headers, { "content-type": `multipart/form-data; boundary=${boundary}` });
  const direct = completeUrl ? { completeUrl, request: "form" as const } : undefined;
  return send("POST", form.url, headers, body, file.size, headBytes.length, options, direct);
}

/** Escapes a multipart header parameter the way browsers do for form fields. */
function quote(s: string): string {
  return s.replace(/\r/g, "%0D").replace(/\n/g, "%0A").replace(/"/g, "%22");
}

/**
 * `PUT`s a file into a token's folder, `{base}/objects/{dir}/{filename}`, with
 * `Authorization: Bearer`. `base` is where the app mounts Uplift (`/api/uploads` by default).
 */
export function uploadWithToken(
  base: string,
  token: Pick<UploadToken, "token" | "dir">,
  file: Blob,
  options: TokenUploadOptions = {},
): Promise<FileObject> {
  const name = options.filename ?? (file as { name?: unknown }).name;
  if (typeof name !== "string" || !name) {
    return Promise.reject(new UploadError("BAD_REQUEST", "a filename is needed for a Blob without a name"));
  }
  const path = [...token.dir.split("/"), ...name.split("/")]
    .filter((s) => s.length > 0)
    .map(encodeURIComponent)
    .join("/");
  const url = `${base.replace(/\/+$/, "")}/objects/${path}`;
  const headers = mergeHeaders(options.headers, {
    authorization: `Bearer ${token.token}`,
    "content-type": file.type || "application/octet-stream",
  });
  return send("PUT", url, headers, file, file.size, 0, options);
}

/** Options of {@link listObjects}. */
export interface ListObjectsOptions {
  /** The `nextCursor` of the page before. */
  cursor?: string;
  /** Most objects on the page, 1–1000 (default 50). */
  limit?: number;
  signal?: AbortSignal;
  fetch?: FetchLike;
}

/**
 * A page of a folder's objects (and below), by path: `GET {base}/objects?dir=…` with a token
 * made with `allow_list` for that folder or a parent.
 */
export async function listObjects(
  base: string,
  token: Pick<UploadToken, "token">,
  dir: string,
  options: ListObjectsOptions = {},
): Promise<ObjectList> {
  const q = new URLSearchParams({ dir });
  if (options.cursor !== undefined) q.set("cursor", options.cursor);
  if (options.limit !== undefined) q.set("limit", String(options.limit));
  const fetchFn: FetchLike = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  return requestJson<ObjectList>(
    fetchFn,
    "GET",
    `${base.replace(/\/+$/, "")}/objects?${q.toString()}`,
    { authorization: `Bearer ${token.token}` },
    undefined,
    options.signal,
  );
}

/**
 * Deletes an object: with a signed DELETE URL (`get_signed_delete`), or `{base}/objects/{path}`
 * with a token made with `allow_delete`. Resolves with the object as it was.
 */
export async function deleteObject(
  target: string | { base: string; token: Pick<UploadToken, "token">; path: string },
  options: { signal?: AbortSignal; fetch?: FetchLike } = {},
): Promise<FileObject> {
  const fetchFn: FetchLike = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const [url, headers] =
    typeof target === "string"
      ? [target, {}]
      : [
          `${target.base.replace(/\/+$/, "")}/objects/${target.path.split("/").map(encodeURIComponent).join("/")}`,
          { authorization: `Bearer ${target.token.token}` },
        ];
  const envelope = await requestJson<FileEnvelope>(fetchFn, "DELETE", url, headers, undefined, options.signal);
  if (!envelope.data) throw new UploadError("INTERNAL", "the server answered without the object");
  return envelope.data;
}
