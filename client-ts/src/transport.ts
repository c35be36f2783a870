// HTTP for the client: JSON calls through `fetch`, and the file PUT through XMLHttpRequest in
// browsers (the only browser API with upload progress) or through `fetch` with a streaming
// body elsewhere (Node 20+), where progress is counted per chunk the transport has taken.

import { abortError, errorFromResponse, networkError, UploadError } from "./errors.js";

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/** How the bytes of a file are sent. */
export type TransportKind = "xhr" | "fetch";

/** What a finished HTTP exchange answered. */
export interface HttpAnswer {
  status: number;
  body: string;
}

/** Chunk size of streamed bodies: progress granularity in Node. */
export const CHUNK_SIZE = 64 * 1024;

/** Headers no script may set (the browser or the HTTP stack sets them). */
const FORBIDDEN_HEADERS = new Set(["content-length", "host", "connection", "transfer-encoding"]);

export function defaultTransport(): TransportKind {
  return typeof XMLHttpRequest === "function" ? "xhr" : "fetch";
}

function isBrowser(): boolean {
  return typeof window === "object" && typeof document === "object";
}

function isAbort(error: unknown, signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true || (error as { name?: unknown } | null)?.name === "AbortError";
}

/** Turns an answer into its JSON, or throws the `UploadError` it carries. */
export function parseAnswer<T>(answer: HttpAnswer): T {
  if (answer.status < 200 || answer.status > 299) throw errorFromResponse(answer.status, answer.body);
  try {
    return JSON.parse(answer.body) as T;
  } catch (cause) {
    throw new UploadError("INTERNAL", `the server answered ${answer.status} with a body that is not JSON`, {
      status: answer.status,
      cause,
    });
  }
}

/** One JSON request: network failures become `NETWORK_ERROR`, cancellation `ABORTED`. */
export async function requestJson<T>(
  fetchFn: FetchLike,
  method: "GET" | "POST" | "PATCH" | "DELETE",
  url: string,
  headers: Record<string, string>,
  body: unknown,
  signal: AbortSignal | undefined,
): Promise<T> {
  if (signal?.aborted) throw abortError(signal);
  const h: Record<string, string> = { accept: "application/json", ...headers };
  const init: RequestInit = { method, headers: h, signal: signal ?? null };
  if (body !== undefined) {
    h["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let answer: HttpAnswer;
  try {
    const res = await fetchFn(url, init);
    answer = { status: res.status, body: await res.text() };
  } catch (error) {
    if (isAbort(error, signal)) throw abortError(signal);
    throw networkError(error);
  }
  return parseAnswer<T>(answer);
}

export interface PutRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: Blob;
  signal: AbortSignal;
  /** Bytes of `body` sent so far. */
  onProgress: (loaded: number) => void;
}

/** Sends one file's bytes. Resolves with whatever the server answered (any status). */
export function put(kind: TransportKind, fetchFn: FetchLike, req: PutRequest): Promise<HttpAnswer> {
  return kind === "xhr" ? putXhr(req) : putFetch(fetchFn, req);
}

function putXhr(req: PutRequest): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    if (req.signal.aborted) {
      reject(abortError(req.signal));
      return;
    }
    const xhr = new XMLHttpRequest();
    const onAbort = () => xhr.abort();
    const done = () => req.signal.removeEventListener("abort", onAbort);
    xhr.open(req.method, req.url);
    for (const [k, v] of Object.entries(req.headers)) {
      if (!FORBIDDEN_HEADERS.has(k.toLowerCase())) xhr.setRequestHeader(k, v);
    }
    xhr.upload.onprogress = (e) => req.onProgress(e.loaded);
    xhr.onload = () => {
      done();
      resolve({ status: xhr.status, body: xhr.responseText });
    };
    xhr.onerror = () => {
      done();
      reject(networkError(new Error(`${req.method} failed`)));
    };
    xhr.ontimeout = xhr.onerror;
    xhr.onabort = () => {
      done();
      reject(abortError(req.signal));
    };
    req.signal.addEventListener("abort", onAbort, { once: true });
    xhr.send(req.body);
  });
}

/**
 * A body that reads `blob` in chunks, one at a time and only when the transport asks: when it
 * asks for the next chunk it has taken the previous one, which is what progress reports.
 */
export function chunkedBody(blob: Blob, onProgress: (loaded: number) => void): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        onProgress(offset);
        if (offset >= blob.size) {
          controller.close();
          return;
        }
        const end = Math.min(blob.size, offset + CHUNK_SIZE);
        const chunk = new Uint8Array(await blob.slice(offset, end).arrayBuffer());
        offset = end;
        controller.enqueue(chunk);
      },
    },
    { highWaterMark: 0 },
  );
}

async function putFetch(fetchFn: FetchLike, req: PutRequest): Promise<HttpAnswer> {
  if (req.signal.aborted) throw abortError(req.signal);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (!FORBIDDEN_HEADERS.has(k.toLowerCase())) headers[k] = v;
  }
  // Browsers stream request bodies only over HTTP/2, so they get the blob whole (XHR is the
  // default there anyway); elsewhere the body streams in chunks, with a known length.
  const streamed = !isBrowser() && req.body.size > 0;
  const init: RequestInit & { duplex?: "half" } = {
    method: req.method,
    headers,
    signal: req.signal,
  };
  if (streamed) {
    headers["content-length"] = String(req.body.size);
    init.body = chunkedBody(req.body, req.onProgress);
    init.duplex = "half";
  } else {
    init.body = req.body;
  }
  try {
    const res = await fetchFn(req.url, init);
    return { status: res.status, body: await res.text() };
  } catch (error) {
    if (isAbort(error, req.signal)) throw abortError(req.signal);
    throw networkError(error);
  }
}
