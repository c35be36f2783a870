import { abortError } from "./errors.js";

/** A counting semaphore: at most `limit` holders at once, served first come, first served. */
export interface Limiter {
  /** Waits for a slot; resolves with its release function. Rejects if `signal` fires first. */
  acquire(signal?: AbortSignal): Promise<() => void>;
}

export function createLimiter(limit: number): Limiter {
  const max = Math.max(1, Math.floor(limit));
  let active = 0;
  const queue: Array<() => void> = [];

  const releaser = () => {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      active--;
      const next = queue.shift();
      if (next) next();
    };
  };

  return {
    acquire(signal) {
      if (signal?.aborted) return Promise.reject(abortError(signal));
      if (active < max) {
        active++;
        return Promise.resolve(releaser());
      }
      return new Promise((resolve, reject) => {
        const grant = () => {
          signal?.removeEventListener("abort", onAbort);
          active++;
          resolve(releaser());
        };
        const onAbort = () => {
          const i = queue.indexOf(grant);
          if (i >= 0) queue.splice(i, 1);
          reject(abortError(signal));
        };
        queue.push(grant);
        signal?.addEventListener("abort", onAbort, { once: true });
      });
    },
  };
}

/** A signal that fires when any of `signals` does; `dispose` detaches it from them. */
export function linkSignals(...signals: Array<AbortSignal | undefined>): { signal: AbortSignal; dispose: () => void } {
  const ctl = new AbortController();
  const cleanups: Array<() => void> = [];
  for (const s of signals) {
    if (!s) continue;
    if (s.aborted) {
      ctl.abort(s.reason);
      break;
    }
    const onAbort = () => ctl.abort(s.reason);
    s.addEventListener("abort", onAbort, { once: true });
    cleanups.push(() => s.removeEventListener("abort", onAbort));
  }
  return { signal: ctl.signal, dispose: () => cleanups.forEach((c) => c()) };
}
