// The pure parts: matching types to rules, progress arithmetic, the retry policy.

import { describe, expect, it } from "vitest";
import { acceptOf, normalizeMime, patternMatches, ruleFor, UploadError } from "../src/index.js";
import type { RouteInfo } from "../src/index.js";
import { ProgressTracker } from "../src/progress.js";
import { backoffDelay, isRetryable, retryPolicy } from "../src/retry.js";
import { createLimiter } from "../src/limiter.js";

const rule = (type: string, mime: string) =>
  ({
    type,
    mime,
    maxFileSize: 1,
    maxFileCount: 1,
    minFileCount: 1,
    contentDisposition: "inline",
    acl: "public-read",
  }) as RouteInfo["types"][number];

describe("types", () => {
  it("wildcards match their top-level type only", () => {
    expect(patternMatches("image/*", "image/png")).toBe(true);
    expect(patternMatches("IMAGE/*", "image/png")).toBe(true);
    expect(patternMatches("image/*", "video/mp4")).toBe(false);
    expect(patternMatches("image/*", "imagex/png")).toBe(false);
    expect(patternMatches("*/*", "application/x-anything")).toBe(true);
    expect(patternMatches("application/pdf", "application/pdf")).toBe(true);
    expect(patternMatches("application/pdf", "application/pdfx")).toBe(false);
  });

  it("MIME types are normalized like the server does", () => {
    expect(normalizeMime("Text/Plain; charset=UTF-8")).toBe("text/plain");
    expect(normalizeMime("image/png")).toBe("image/png");
    expect(normalizeMime("nonsense")).toBeUndefined();
    expect(normalizeMime("")).toBeUndefined();
  });

  it("the most specific rule wins, the first on ties; shorthands without a `mime` still work", () => {
    const route = { types: [rule("blob", "*/*"), rule("image", ""), rule("image/png", "image/png")] };
    expect(ruleFor(route, "image/png")).toBe(2);
    expect(ruleFor(route, "image/gif")).toBe(1);
    expect(ruleFor(route, "application/zip")).toBe(0);
    expect(ruleFor({ types: [rule("image", "image/*")] }, "video/mp4")).toBeUndefined();
    expect(ruleFor({ types: [rule("pdf", "")] }, "application/pdf")).toBe(0);
    expect(ruleFor({ types: [rule("text", ""), rule("text", "")] }, "text/plain")).toBe(0);
  });

  it("accept lists the patterns, or nothing for a route that takes anything", () => {
    expect(acceptOf({ types: [rule("image", "image/*"), rule("video", "video/*")] })).toBe("image/*,video/*");
    expect(acceptOf({ types: [rule("image", "image/*"), rule("blob", "*/*")] })).toBeUndefined();
  });
});

describe("progress", () => {
  it("never goes backwards when a file starts over, and reaches 100 only when done", () => {
    const seen: number[] = [];
    const t = new ProgressTracker(
      [
        { name: "a", size: 100 },
        { name: "b", size: 300 },
      ],
      (p) => seen.push(p.loaded),
    );
    t.bytes(0, 50);
    t.bytes(1, 150);
    t.bytes(1, 20); // a retry starting over
    t.bytes(1, 160);
    expect(t.snapshot().loaded).toBe(210);
    t.bytes(0, 100);
    t.bytes(1, 300);
    expect(t.snapshot().percentage).toBe(99);
    t.state(0, "complete");
    t.state(1, "complete");
    expect(t.snapshot()).toMatchObject({ loaded: 400, total: 400, percentage: 100 });
    expect(seen).toEqual([50, 200, 210, 260, 400, 400, 400]);
  });

  it("counts empty files as done when complete", () => {
    const t = new ProgressTracker([{ name: "empty", size: 0 }]);
    expect(t.snapshot().percentage).toBe(0);
    t.state(0, "complete");
    expect(t.snapshot().percentage).toBe(100);
  });
});

describe("retry policy", () => {
  it("retries network errors and 5xx, never 4xx, cancellations or failed hooks", () => {
    expect(isRetryable(new UploadError("NETWORK_ERROR", "x"))).toBe(true);
    expect(isRetryable(new UploadError("INTERNAL", "x", { status: 500 }))).toBe(true);
    expect(isRetryable(new UploadError("INTERNAL", "x", { status: 503 }))).toBe(true);
    expect(isRetryable(new UploadError("UNAUTHORIZED", "x", { status: 401 }))).toBe(false);
    expect(isRetryable(new UploadError("TOO_MANY_REQUESTS", "x", { status: 429 }))).toBe(false);
    expect(isRetryable(new UploadError("TOO_LARGE", "x", { status: 0 }))).toBe(false);
    expect(isRetryable(new UploadError("ABORTED", "x"))).toBe(false);
    expect(isRetryable(new UploadError("COMPLETION_FAILED", "x", { status: 500 }))).toBe(false);
    expect(isRetryable(new Error("x"))).toBe(false);
  });

  it("backs off exponentially with jitter, capped", () => {
    const p = retryPolicy({ retries: 5, minDelay: 100, maxDelay: 1000 });
    for (let i = 0; i < 50; i++) {
      const d1 = backoffDelay(p, 1);
      expect(d1).toBeGreaterThanOrEqual(50);
      expect(d1).toBeLessThanOrEqual(100);
      const d3 = backoffDelay(p, 3);
      expect(d3).toBeGreaterThanOrEqual(200);
      expect(d3).toBeLessThanOrEqual(400);
      expect(backoffDelay(p, 10)).toBeLessThanOrEqual(1000);
    }
    expect(retryPolicy(undefined)).toEqual({ retries: 3, minDelay: 300, maxDelay: 5000 });
    expect(retryPolicy(0).retries).toBe(0);
  });
});

describe("limiter", () => {
  it("holds at most `limit` slots and drops waiters whose signal fires", async () => {
    const lim = createLimiter(2);
    const a = await lim.acquire();
    const b = await lim.acquire();
    const ctl = new AbortController();
    const c = lim.acquire(ctl.signal);
    let dGot = false;
    const d = lim.acquire().then((rel) => {
      dGot = true;
      return rel;
    });
    ctl.abort();
    await expect(c).rejects.toMatchObject({ code: "ABORTED" });
    expect(dGot).toBe(false);
    a();
    a(); // a second release is a no-op
    const relD = await d;
    expect(dGot).toBe(true);
    b();
    relD();
    const e = await lim.acquire();
    const f = await lim.acquire();
    e();
    f();
  });
});
