// The one status poller, against a fake fetch and a fake clock: it backs off between polls,
// stops at the first answer its condition accepts, and gives up at its deadline.

import { describe, expect, it } from "vitest";
import { UploadError } from "../src/index.js";
import { DEFAULT_POLL, DEFAULT_STATUS_TIMEOUT, failureOf, isSettled, pollStatus, type Clock } from "../src/poll.js";
import type { UploadResult } from "../src/protocol.js";
import { retryPolicy } from "../src/retry.js";
import { tusFrom } from "../src/tus-file.js";

const URL_ = "http://uplift.test/api/uploads/files/k1";

/** A clock whose sleeps pass at once and are recorded. */
function fakeClock(): Clock & { waits: number[]; t: number } {
  const c = {
    t: 1_000_000,
    waits: [] as number[],
    now: () => c.t,
    sleep: async (ms: number, signal?: AbortSignal) => {
      if (signal?.aborted) throw new UploadError("ABORTED", "cancelled");
      c.waits.push(ms);
      c.t += ms;
    },
  };
  return c;
}

/** A fetch answering with the given statuses in turn (the last one forever). */
function fakeFetch(answers: Array<Partial<UploadResult> | number>) {
  const calls: string[] = [];
  let n = 0;
  const fetch = async (url: string) => {
    calls.push(url);
    const a = answers[Math.min(n++, answers.length - 1)]!;
    if (typeof a === "number") return new Response("oops", { status: a });
    return new Response(JSON.stringify({ key: "k1", ...a }), { status: 200 });
  };
  return { fetch, calls };
}

const pending = { status: "pending" } as const;

describe("the status poller", () => {
  it("backs off between polls and returns the first settled status", async () => {
    const clock = fakeClock();
    const { fetch, calls } = fakeFetch([pending, pending, { status: "completing" }, pending, pending, { status: "complete" }]);
    const st = await pollStatus({
      fetch,
      policy: retryPolicy(0),
      url: URL_,
      headers: {},
      clock,
      settings: { interval: 100, factor: 2, maxInterval: 500 },
    });
    expect(st.status).toBe("complete");
    expect(calls).toHaveLength(6);
    expect(calls.every((c) => c === URL_)).toBe(true);
    expect(clock.waits).toEqual([100, 200, 400, 500, 500]);
  });

  it("stops where its condition says, before the status settles", async () => {
    const clock = fakeClock();
    const file = { key: "k1" } as UploadResult["file"];
    const { fetch, calls } = fakeFetch([pending, { status: "completing", file }, { status: "complete" }]);
    const st = await pollStatus({ fetch, policy: retryPolicy(0), url: URL_, headers: {}, clock, until: (s) => s.file != null });
    expect(st.status).toBe("completing");
    expect(calls).toHaveLength(2);
  });

  it("gives up with STATUS_TIMEOUT at its deadline, never waiting past it", async () => {
    const clock = fakeClock();
    const start = clock.t;
    const { fetch, calls } = fakeFetch([pending]);
    const err = await pollStatus({
      fetch,
      policy: retryPolicy(0),
      url: URL_,
      headers: {},
      clock,
      settings: { timeout: 1000, interval: 100, factor: 2, maxInterval: 400 },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UploadError);
    const e = err as UploadError;
    expect(e.code).toBe("STATUS_TIMEOUT");
    expect(e.status).toBe(0);
    expect(e.message).toMatch(/still `pending` after \d+ status polls/);
    // 100 + 200 + 400 = 700, then only the 300 ms that are left.
    expect(clock.waits).toEqual([100, 200, 400, 300]);
    expect(clock.t - start).toBe(1000);
    expect(calls).toHaveLength(5);
    expect(e.data).toMatchObject({ status: "pending", polls: 5, timeout: 1000 });
  });

  it("has a default deadline of a few minutes", async () => {
    expect(DEFAULT_POLL.timeout).toBe(DEFAULT_STATUS_TIMEOUT);
    expect(DEFAULT_STATUS_TIMEOUT).toBeGreaterThanOrEqual(60_000);
    expect(DEFAULT_STATUS_TIMEOUT).toBeLessThanOrEqual(10 * 60_000);
    const clock = fakeClock();
    const start = clock.t;
    const { fetch } = fakeFetch([pending]);
    const err = await pollStatus({ fetch, policy: retryPolicy(0), url: URL_, headers: {}, clock }).catch((e: unknown) => e);
    expect((err as UploadError).code).toBe("STATUS_TIMEOUT");
    expect(clock.t - start).toBe(DEFAULT_STATUS_TIMEOUT);
    expect(Math.max(...clock.waits)).toBe(DEFAULT_POLL.maxInterval);
  });

  it("retries a status request that failed with a 5xx, and stops on a 4xx", async () => {
    const clock = fakeClock();
    const flaky = fakeFetch([503, { status: "complete" }]);
    const policy = retryPolicy({ retries: 2, minDelay: 0, maxDelay: 0 });
    const st = await pollStatus({ fetch: flaky.fetch, policy, url: URL_, headers: {}, clock });
    expect(st.status).toBe("complete");
    expect(flaky.calls).toHaveLength(2);

    const gone = fakeFetch([pending, 404]);
    const err = await pollStatus({ fetch: gone.fetch, policy, url: URL_, headers: {}, clock }).catch((e: unknown) => e);
    expect((err as UploadError).code).toBe("NOT_FOUND");
    expect(gone.calls).toHaveLength(2);
  });

  it("stops when its signal fires", async () => {
    const clock = fakeClock();
    const ctl = new AbortController();
    const { fetch, calls } = fakeFetch([pending]);
    const polling = pollStatus({
      fetch: async (url, init) => {
        if (calls.length === 2) ctl.abort();
        return fetch(url);
      },
      policy: retryPolicy(0),
      url: URL_,
      headers: {},
      clock,
      signal: ctl.signal,
    });
    await expect(polling).rejects.toMatchObject({ code: "ABORTED" });
    expect(calls.length).toBeLessThanOrEqual(3);
  });

  it("settled means the server is done: complete, failed or expired", () => {
    const st = (status: UploadResult["status"]) => ({ key: "k", status }) as UploadResult;
    expect(isSettled(st("pending"))).toBe(false);
    expect(isSettled(st("completing"))).toBe(false);
    expect(isSettled(st("complete"))).toBe(true);
    expect(isSettled(st("failed"))).toBe(true);
    expect(isSettled(st("expired"))).toBe(true);
    expect(failureOf(st("expired")).code).toBe("EXPIRED");
    const failed = { ...st("failed"), error: { code: "COMPLETION_FAILED", message: "hook" } } as UploadResult;
    expect(failureOf(failed)).toMatchObject({ code: "COMPLETION_FAILED", status: 500, message: "hook" });
  });
});

describe("tus-js-client, an optional peer", () => {
  it("a failed import becomes TUS_UNAVAILABLE, naming the package", async () => {
    const missing = Object.assign(new Error("Cannot find package 'tus-js-client'"), { code: "ERR_MODULE_NOT_FOUND" });
    const err = await tusFrom(() => Promise.reject(missing)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UploadError);
    expect((err as UploadError).code).toBe("TUS_UNAVAILABLE");
    expect((err as UploadError).message).toMatch(/npm install tus-js-client/);
    expect((err as UploadError).cause).toBe(missing);
  });

  it("takes `Upload` as a named export or from a CommonJS default export", async () => {
    class Upload {}
    expect((await tusFrom(() => Promise.resolve({ Upload }))).Upload).toBe(Upload);
    expect((await tusFrom(() => Promise.resolve({ default: { Upload } }))).Upload).toBe(Upload);
    await expect(tusFrom(() => Promise.resolve({ default: {} }))).rejects.toMatchObject({ code: "TUS_UNAVAILABLE" });
  });
});
