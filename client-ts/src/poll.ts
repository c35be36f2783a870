// The one status poller: every wait on a file's status (`GET {base}/files/{key}`) — the stored
// file after the last tus byte, the completion hook's answer on routes that await it, and
// `waitForServerData` — goes through `pollStatus`. It backs off between polls and gives up
// with `STATUS_TIMEOUT` at a deadline, so a client never polls forever.

import { STATUS_OF_CODE, UploadError } from "./errors.js";
import type { UploadResult } from "./protocol.js";
import { sleep, withRetry, type RetryPolicy } from "./retry.js";
import { requestJson, type FetchLike } from "./transport.js";

/** Default of `UploaderOptions.statusTimeout`: 5 minutes. */
export const DEFAULT_STATUS_TIMEOUT = 5 * 60_000;

/** How a status is polled. */
export interface PollSettings {
  /** Give up (`STATUS_TIMEOUT`) once this many ms have passed since the first poll. */
  timeout: number;
  /** The first wait between two polls, in ms. */
  interval: number;
  /** Each wait is the previous one times `factor`… */
  factor: number;
  /** …up to this many ms. */
  maxInterval: number;
}

export const DEFAULT_POLL: Readonly<PollSettings> = {
  timeout: DEFAULT_STATUS_TIMEOUT,
  interval: 100,
  factor: 2,
  maxInterval: 2000,
};

/** Time as the poller sees it; tests give a fake one. */
export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

const realClock: Clock = { now: () => Date.now(), sleep };

/** One wait on a status URL. */
export interface PollRequest {
  fetch: FetchLike;
  /** Retries of each status request (network errors and 5xx). */
  policy: RetryPolicy;
  url: string;
  headers: Record<string, string>;
  signal?: AbortSignal | undefined;
  /** Stop at the first answer for which this holds (default: {@link isSettled}). */
  until?: (status: UploadResult) => boolean;
  settings?: Partial<PollSettings>;
  clock?: Clock;
}

/** The server is done with the upload: `complete`, `failed` or `expired`. */
export function isSettled(st: UploadResult): boolean {
  return st.status !== "pending" && st.status !== "completing";
}

/**
 * Polls `url` until `until` holds for its answer, which it returns; waits `interval`, then
 * `interval·factor`, … (at most `maxInterval`) in between. Rejects with `STATUS_TIMEOUT` when
 * the deadline passes first (it is checked after each answer; no wait runs past it), with the
 * status request's error when its retries run out, and with `ABORTED` when `signal` fires.
 */
export async function pollStatus(req: PollRequest): Promise<UploadResult> {
  const s: PollSettings = { ...DEFAULT_POLL, ...req.settings };
  const clock = req.clock ?? realClock;
  const until = req.until ?? isSettled;
  const deadline = clock.now() + s.timeout;
  let interval = s.interval;
  for (let polls = 1; ; polls++) {
    const st = await withRetry(req.policy, req.signal, () =>
      requestJson<UploadResult>(req.fetch, "GET", req.url, req.headers, undefined, req.signal),
    );
    if (until(st)) return st;
    const left = deadline - clock.now();
    if (left <= 0) {
      throw new UploadError(
        "STATUS_TIMEOUT",
        `the upload was still \`${st.status}\` after ${polls} status polls in ${Math.round(s.timeout / 1000)} s; ` +
          "its status can be asked again later (e.g. with `waitForServerData`)",
        { data: { status: st.status, polls, timeout: s.timeout, url: req.url } },
      );
    }
    await clock.sleep(Math.min(interval, left), req.signal);
    interval = Math.min(s.maxInterval, interval * s.factor);
  }
}

/** The error a `failed` or `expired` status stands for. */
export function failureOf(st: UploadResult): UploadError {
  if (st.error) return UploadError.fromBody(st.error, STATUS_OF_CODE[st.error.code] ?? 500);
  if (st.status === "expired") return new UploadError("EXPIRED", "the upload URL has expired", { status: 410 });
  return new UploadError("INTERNAL", `the upload ended as ${st.status}`, { status: 500 });
}
