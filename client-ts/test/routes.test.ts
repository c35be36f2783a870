// Uploads to every route of the running demo, and what comes back.

import { describe, expect, it } from "vitest";
import { routeConfig, type UploadRouter } from "../../generated/ts/router.js";
import { createUploader, type UploadProgress } from "../src/index.js";
import { base, jpeg, mp4, pdf, png, recordingFetch, sha256 } from "./helpers.js";

const up = () => createUploader<UploadRouter>({ url: base(), headers: { "x-user": "ann" }, retries: { minDelay: 20 } });

describe("route configs", () => {
  it("lists the demo's routes from GET {base}", async () => {
    const routes = await up().routeConfig();
    expect(routes.map((r) => r.slug)).toEqual(["profilePicture", "messageAttachment", "mediaPost", "documentReview"]);
    const pp = await up().routeConfig("profilePicture");
    expect(pp.awaitServerData).toBe(true);
    expect(pp.types).toHaveLength(1);
    expect(pp.types[0]).toMatchObject({ type: "image", mime: "image/*", maxFileSize: 2 * 1024 * 1024, maxFileCount: 1 });
  });

  it("fetches the configs once per uploader", async () => {
    const rec = recordingFetch();
    const u = createUploader<UploadRouter>({ url: base(), fetch: rec.fetch, headers: { "x-user": "ann" } });
    await u.upload("profilePicture", { files: [png("a.png")] });
    await u.upload("profilePicture", { files: [png("b.png")] });
    expect(rec.count("GET")).toBe(1);
  });
});

describe("the generated routeConfig", () => {
  it("is what the server serves (without the input schemas)", async () => {
    const served = await up().routeConfig();
    for (const route of served) {
      const { inputSchema, ...rules } = route;
      expect(inputSchema).toBeTypeOf("object");
      expect(routeConfig[route.slug as keyof typeof routeConfig]).toEqual(rules);
    }
    expect(Object.keys(routeConfig).sort()).toEqual(served.map((r) => r.slug).sort());
  });

  it("stands in for GET {base}: checks run with no request at all", async () => {
    const rec = recordingFetch();
    const u = createUploader<UploadRouter>({ url: base(), fetch: rec.fetch, routes: routeConfig });
    const err = await u.upload("profilePicture", { files: [png("big.png", 3 * 1024 * 1024)] }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "TOO_LARGE", status: 0 });
    expect(rec.sent).toEqual([]);
    expect((await u.routeConfig("mediaPost")).types.map((t) => t.type)).toEqual(["image", "video"]);
  });
});

describe("uploads to each demo route", () => {
  it("profilePicture: awaits typed server data", async () => {
    const file = png("me.png", 10_000);
    const begun: string[] = [];
    const completed: number[] = [];
    const [res] = await up().upload("profilePicture", {
      files: [file],
      onUploadBegin: (f) => begun.push(f.name),
      onFileComplete: (_f, i) => completed.push(i),
    });
    expect(res).toBeDefined();
    const uploaded = res!;
    expect(uploaded.name).toBe("me.png");
    expect(uploaded.size).toBe(10_000);
    expect(uploaded.type).toBe("image/png");
    expect(uploaded.slug).toBe("profilePicture");
    expect(uploaded.sha256).toBe(await sha256(file));
    // The server data is the route's type, not unknown: these are typed reads.
    const data: { url: string; uploadedBy: string } = uploaded.serverData;
    expect(data.uploadedBy).toBe("ann");
    expect(data.url).toBe(uploaded.url);
    expect(begun).toEqual(["me.png"]);
    expect(completed).toEqual([0]);
    // The bytes are there.
    const got = await fetch(uploaded.url);
    expect(got.status).toBe(200);
    expect(Buffer.from(await got.arrayBuffer()).equals(Buffer.from(await file.arrayBuffer()))).toBe(true);
  });

  it("messageAttachment: serverData is null in the upload and arrives at the status URL", async () => {
    const u = up();
    const [res] = await u.upload("messageAttachment", { files: [jpeg("cat.jpg")] });
    expect(res!.serverData).toBeNull();
    expect(res!.type).toBe("image/jpeg");
    const later = await u.waitForServerData("messageAttachment", res!);
    expect(later.attachedBy).toBe("ann");
    expect(later.kind).toBe("image");
    expect(later.messageId).toMatch(/^msg_[0-9a-f]{12}$/);
  });

  it("mediaPost: takes a typed caption, renames the files, and its hook sees the caption", async () => {
    const u = up();
    const files = [png("one.png", 5000, 1), png("two.png", 6000, 2), mp4("clip.mp4", 100_000)];
    const res = await u.upload("mediaPost", { files, input: { caption: "  a day at the beach " } });
    expect(res).toHaveLength(3);
    const postIds = new Set(res.map((f) => f.customId!.split("/")[0]));
    expect(postIds.size).toBe(1);
    const [postId] = [...postIds];
    expect(res.map((f) => f.name)).toEqual([`ann-${postId}-1.png`, `ann-${postId}-2.png`, `ann-${postId}-3.mp4`]);
    expect(res.map((f) => f.customId)).toEqual([`${postId}/1`, `${postId}/2`, `${postId}/3`]);
    expect(res.map((f) => f.size)).toEqual([5000, 6000, 100_000]);
    for (const f of res) expect(f.serverData).toBeNull();
    const media = await u.waitForServerData("mediaPost", res[2]!);
    expect(media).toMatchObject({ postId, author: "ann", caption: "a day at the beach", mediaId: `${postId}/3`, kind: "video" });
  });

  it("documentReview: a private PDF, awaited, pages counted by the hook", async () => {
    const file = pdf("contract.pdf", 3);
    const [res] = await up().upload("documentReview", { files: [file] });
    const ticket = res!.serverData;
    expect(ticket.submittedBy).toBe("ann");
    expect(ticket.pagesEstimate).toBe(3);
    expect(ticket.sha256).toBe(await sha256(file));
    expect(ticket.reviewId).toMatch(/^rev_/);
    expect(res!.acl).toBe("private");
    expect(res!.contentDisposition).toBe("attachment");
    // Private: the signed download URL works; the plain one answers as an unknown key does.
    expect(new URL(res!.url).searchParams.get("sig")).toBeTruthy();
    expect((await fetch(res!.url)).status).toBe(200);
    expect((await fetch(`${base()}/download/${res!.key}`)).status).toBe(404);
    // Its status opens with the token it was handed, and answers like an unknown key without.
    const statusUrl = new URL(res!.statusUrl);
    expect(statusUrl.pathname).toBe(new URL(`${base()}/files/${res!.key}`).pathname);
    expect(statusUrl.searchParams.get("token")).toBeTruthy();
    const again = await up().waitForServerData("documentReview", res!);
    expect(again.reviewId).toBe(ticket.reviewId);
    const bare = await fetch(`${base()}/files/${res!.key}`);
    const unknown = await fetch(`${base()}/files/noSuchKeyNoSuchKeyNoSuchKey0`);
    expect(bare.status).toBe(404);
    expect(await bare.text()).toBe(await unknown.text());
    // Without the token: another user's session gets the unknown-key answer; the owner's own
    // session opens it (the demo lets users manage their files: docs/files.md).
    const bob = createUploader<UploadRouter>({ url: base(), headers: { "x-user": "bob" } });
    const refusal = await bob
      .waitForServerData("documentReview", { statusUrl: `${base()}/files/${res!.key}` })
      .catch((e: unknown) => e);
    expect(refusal).toMatchObject({ code: "NOT_FOUND", status: 404 });
    const own = await up().waitForServerData("documentReview", { statusUrl: `${base()}/files/${res!.key}` });
    expect(own.reviewId).toBe(ticket.reviewId);
  });

  it("accepts headers from an async function", async () => {
    const u = createUploader<UploadRouter>({
      url: base(),
      headers: async () => {
        await new Promise((r) => setTimeout(r, 5));
        return new Headers({ "x-user": "bob" });
      },
    });
    const [res] = await u.upload("profilePicture", { files: [png("bob.png")] });
    expect(res!.serverData.uploadedBy).toBe("bob");
  });

  it("per-upload headers override the uploader's", async () => {
    const [res] = await up().upload("profilePicture", { files: [png("c.png")], headers: { "x-user": "cy" } });
    expect(res!.serverData.uploadedBy).toBe("cy");
  });
});

describe("progress", () => {
  it("is byte-weighted, monotonic per file and in total, and ends at the total", async () => {
    const files = [png("p1.png", 300_000, 4), png("p2.png", 1_000_000, 5), mp4("v.mp4", 3_000_000)];
    const total = files.reduce((s, f) => s + f.size, 0);
    const events: UploadProgress[] = [];
    await up().upload("mediaPost", { files, input: { caption: "progress" }, onProgress: (p) => events.push(p) });
    expect(events.length).toBeGreaterThan(10);
    for (let i = 1; i < events.length; i++) {
      const [a, b] = [events[i - 1]!, events[i]!];
      expect(b.loaded).toBeGreaterThanOrEqual(a.loaded);
      expect(b.percentage).toBeGreaterThanOrEqual(a.percentage);
      b.files.forEach((f, j) => expect(f.loaded).toBeGreaterThanOrEqual(a.files[j]!.loaded));
    }
    for (const e of events) {
      expect(e.total).toBe(total);
      expect(e.loaded).toBe(e.files.reduce((s, f) => s + f.loaded, 0));
    }
    const last = events.at(-1)!;
    expect(last.loaded).toBe(total);
    expect(last.percentage).toBe(100);
    expect(last.files.map((f) => [f.loaded, f.total, f.state])).toEqual(files.map((f) => [f.size, f.size, "complete"]));
    // Progress is seen in between, not only at the end: the video is 48 chunks.
    const videoSteps = new Set(events.map((e) => e.files[2]!.loaded));
    expect(videoSteps.size).toBeGreaterThan(10);
    expect(events.some((e) => e.percentage > 0 && e.percentage < 100)).toBe(true);
  });
});

describe("concurrency", () => {
  it("sends at most `concurrency` files at once", async () => {
    for (const concurrency of [1, 2]) {
      const rec = recordingFetch();
      const u = createUploader<UploadRouter>({ url: base(), fetch: rec.fetch, headers: { "x-user": "ann" }, concurrency });
      const files = [png("a.png", 400_000, 1), png("b.png", 400_000, 2), png("c.png", 400_000, 3), png("d.png", 400_000, 4)];
      const res = await u.upload("mediaPost", { files, input: { caption: "many" } });
      expect(res).toHaveLength(4);
      expect(rec.count("PUT")).toBe(4);
      expect(rec.maxConcurrentPuts()).toBe(concurrency);
    }
  });
});
