import { abortError, UploadError } from "./errors.js";

/** How failed requests are retried. */
export interface RetryOptions {
  /** Retries after the first attempt (so `3` means at most 4 attempts). Default 3. */
  retries?: number;
  /** Delay before the first retry, in ms; doubles with each retry. Default 300. */
  minDelay?: number;
  /** Upper bound of one delay, in ms. Default 5000. */
  maxDelay?: number;
}

export interface RetryPolicy {
  retries: number;
  minDelay: number;
  maxDelay: number;
}

export function retryPolicy(option: number | RetryOptions | undefined): RetryPolicy {
  const o: RetryOptions = typeof option === "number" ? { retries: option } : (option ?? {});
  const retries = Math.max(0, Math.floor(o.retries ?? 3));
  const minDelay = Math.max(0, o.minDelay ?? 300);
  const maxDelay = Math.max(minDelay, o.maxDelay ?? 5000);
  return { retries, minDelay, maxDelay };
}

/**
 * May the request be tried again? Network failures and 5xx answers: yes. A 4xx is the server's
 * considered refusal and never is; nor is a cancellation, a refusal the client made itself, or
 * a failed completion hook (the bytes were stored; sending them again would not help).
 */
export function isRetryable(error: unknown): boolean {
  if (!(error instanceof UploadError)) return false;
  if (error.code === "NETWORK_ERROR") return true;
  if (error.code === "ABORTED" || error.code === "COMPLETION_FAILED") return false;
  return error.status >= 500;
}

/** Exponential backoff with jitter: retry `n` (1-based) waits 50–100 % of `min·2^(n-1)`, capped. */
export function backoffDelay(policy: RetryPolicy, retry: number): number {
  const base = Math.min(policy.maxDelay, policy.minDelay * 2 ** Math.max(0, retry - 1));
  return base * (0.5 + Math.random() * 0.5);
}

/** Resolves after `ms`, or rejects with the abort error as soon as `signal` fires. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortError(signal));
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Runs `attempt` until it succeeds, fails for good, or the retries run out; waits with backoff
 * in between. `signal` cancels the wait as well as (through `attempt`) the request.
 */
export async function withRetry<T>(
  policy: RetryPolicy,
  signal: AbortSignal | undefined,
  attempt: (n: number) => Promise<T>,
): Promise<T> {
  for (let n = 0; ; n++) {
    try {
      return await attempt(n);
    } catch (error) {
      if (signal?.aborted) throw abortError(signal);
      if (n >= policy.retries || !isRetryable(error)) throw error;
      await sleep(backoffDelay(policy, n + 1), signal);
    }
  }
}

