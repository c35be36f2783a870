// A large file sent straight to the storage bucket in parts (prepare answered with a
// `multipart` plan): the parts the bucket lacks go in parallel (bounded), each retried on its
// own; a pause aborts the parts in flight and the next run asks the bucket which parts it has
// (the plan's `partsUrl`), so nothing it holds is sent twice — after a page reload too.

import { abortError, UploadError } from "./errors.js";
import { linkSignals } from "./limiter.js";
import type { MultipartPlan, PartsRequest, PartsResponse } from "./protocol.js";
import { backoffDelay, isRetryable, sleep, withRetry, type RetryPolicy } from "./retry.js";
import { put, requestJson, type FetchLike, type TransportKind } from "./transport.js";

/** Parts sent at once, per file. */
export const PART_CONCURRENCY = 4;

export interface PartsRun {
  plan: MultipartPlan;
  file: Blob;
  fetch: FetchLike;
  transport: TransportKind;
  policy: RetryPolicy;
  /** Headers of this server's own endpoints (the parts URL). */
  headers: () => Promise<Record<string, string>>;
  /** Cancels the upload. */
  signal: AbortSignal;
  /** Pauses it: the parts in flight are dropped, the run resolves `"paused"`. */
  pauseSignal: AbortSignal;
  /** Ask the bucket which parts it has before sending (a resumed run). */
  resume: boolean;
  /** Bytes of the file the bucket holds or is being sent (monotonic within one run). */
  onProgress: (bytes: number) => void;
  concurrency?: number;
}

/** Sends every part the bucket does not hold yet: `"done"`, or `"paused"` after a pause. */
export async function sendParts(run: PartsRun): Promise<"done" | "paused"> {
  const { plan, file } = run;
  const count = plan.partCount;
  const partSize = Number(plan.partSize);
  const urls = new Map<number, string>(plan.parts.map((p) => [p.partNumber, p.url]));
  const done = new Set<number>();
  const attempt = linkSignals(run.signal, run.pauseSignal);
  try {
    const ask = async (first: number): Promise<PartsResponse> => {
      const body: PartsRequest = { first, count: 100 };
      const h = await run.headers();
      const res = await withRetry(run.policy, attempt.signal, () =>
        requestJson<PartsResponse>(run.fetch, "POST", plan.partsUrl, h, body, attempt.signal),
      );
      for (const p of res.parts) urls.set(p.partNumber, p.url);
      return res;
    };
    if (run.resume) {
      urls.clear();
      const res = await ask(1);
      for (const p of res.uploaded) done.add(p.partNumber);
    }
    const sizeOf = (n: number) => (n === count ? file.size - partSize * (count - 1) : partSize);
    let held = 0;
    for (const n of done) held += sizeOf(n);
    const inFlight = new Map<number, number>();
    const report = () => {
      let sum = held;
      for (const b of inFlight.values()) sum += b;
      run.onProgress(sum);
    };
    report();

    const queue: number[] = [];
    for (let n = 1; n <= count; n++) if (!done.has(n)) queue.push(n);
    const sendOne = async (n: number) => {
      for (let retry = 0; ; retry++) {
        let url = urls.get(n);
        if (url === undefined) {
          await ask(n);
          url = urls.get(n);
          if (url === undefined) throw new UploadError("INTERNAL", `no URL for part ${n}`, { status: 500 });
        }
        const start = (n - 1) * partSize;
        let error: unknown;
        try {
          const answer = await put(run.transport, run.fetch, {
            url,
            method: "PUT",
            headers: {},
            body: file.slice(start, start + sizeOf(n)),
            signal: attempt.signal,
            onProgress: (loaded) => {
              inFlight.set(n, loaded);
              report();
            },
          });
          if (answer.status >= 200 && answer.status <= 299) {
            inFlight.delete(n);
            held += sizeOf(n);
            report();
            return;
          }
          error = partRefusal(answer.status);
        } catch (e) {
          error = e;
        }
        inFlight.delete(n);
        report();
        if (attempt.signal.aborted) throw abortError(attempt.signal);
        if (error instanceof UploadError && error.code === "SIGNATURE_INVALID" && retry === 0) {
          // A part URL that ran out (or a store clock ahead of ours): sign it again, once.
          urls.delete(n);
          continue;
        }
        if (!isRetryable(error) || retry >= run.policy.retries) throw error;
        await sleep(backoffDelay(run.policy, retry + 1), attempt.signal);
      }
    };
    const worker = async () => {
      for (let n = queue.shift(); n !== undefined; n = queue.shift()) await sendOne(n);
    };
    const workers = Array.from({ length: Math.min(run.concurrency ?? PART_CONCURRENCY, queue.length) }, worker);
    const settled = await Promise.allSettled(workers);
    if (run.signal.aborted) throw abortError(run.signal);
    if (run.pauseSignal.aborted) return "paused";
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
    if (failed) throw failed.reason;
    return "done";
  } catch (error) {
    if (run.signal.aborted) throw abortError(run.signal);
    if (run.pauseSignal.aborted) return "paused";
    throw error;
  } finally {
    attempt.dispose();
  }
}

/** Cancels the upload on the server: the bucket drops the parts. Best effort. */
export async function abortParts(
  plan: MultipartPlan,
  fetchFn: FetchLike,
  headers: Record<string, string>,
): Promise<void> {
  try {
    await requestJson<unknown>(fetchFn, "POST", plan.abortUrl, headers, undefined, undefined);
  } catch {
    // Already completed, cancelled or expired: the sweep removes whatever is left.
  }
}

/** The bucket refused a part: 403 a changed or expired URL (or another length), 404 an upload it no longer has. */
function partRefusal(status: number): UploadError {
  if (status === 403) {
    return new UploadError("SIGNATURE_INVALID", "the storage bucket refused the part URL (changed, expired or another length)", { status });
  }
  if (status === 404) {
    return new UploadError("CONFLICT", "the storage bucket has no such upload any more (cancelled or expired)", { status: 409 });
  }
  if (status === 400) {
    return new UploadError("SIZE_MISMATCH", "the storage bucket refused the part", { status });
  }
  return new UploadError("INTERNAL", `the storage bucket answered ${status}`, { status });
}
