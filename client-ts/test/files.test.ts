// Managing stored files against the real demo (which lets each signed-in user manage their
// own): `up.files.list / rename / setAcl / delete`, pages, refusals, and nobody else's files.

import { describe, expect, it } from "vitest";
import { type UploadRouter } from "../../generated/ts/router.js";
import { createUploader, UploadError } from "../src/index.js";
import { base, pdf, png } from "./helpers.js";

/** A user of their own, so other tests' files never show up. */
const fresh = () => `files-${Math.random().toString(36).slice(2, 10)}`;
const as = (user: string) => createUploader<UploadRouter>({ url: base(), headers: { "x-user": user }, retries: { minDelay: 20 } });

describe("up.files", () => {
  it("lists the caller's files newest first, page by page, and only theirs", async () => {
    const ann = as(fresh());
    const [a] = await ann.upload("profilePicture", { files: [png("a.png")] });
    const [b] = await ann.upload("documentReview", { files: [pdf("b.pdf", 2)] });
    const bob = as(fresh());
    await bob.upload("profilePicture", { files: [png("bob.png")] });

    const page = await ann.files.list();
    expect(page.files.map((f) => f.key)).toEqual([b!.key, a!.key]);
    expect(page.nextCursor).toBeNull();
    expect(page.files[1]).toMatchObject({ slug: "profilePicture", status: "complete", name: "a.png" });
    expect(page.files[1]!.file!.url).toContain("/download/");

    const first = await ann.files.list({ limit: 1 });
    expect(first.files.map((f) => f.key)).toEqual([b!.key]);
    const second = await ann.files.list({ limit: 1, cursor: first.nextCursor! });
    expect(second.files.map((f) => f.key)).toEqual([a!.key]);
    expect(second.nextCursor).toBeNull();

    expect((await ann.files.list({ route: "documentReview" })).files.map((f) => f.key)).toEqual([b!.key]);
    expect((await ann.files.list({ status: "failed" })).files).toEqual([]);
    expect((await ann.files.list({ createdFrom: new Date(Date.now() + 60_000) })).files).toEqual([]);
    // Bob sees his one file; Ann's keys are not his to touch.
    expect((await bob.files.list()).files).toHaveLength(1);
    expect(await bob.files.delete(a!.key)).toEqual([{ key: a!.key, result: "notFound" }]);
    await expect(bob.files.rename(a!.key, "mine.png")).rejects.toMatchObject({ code: "NOT_FOUND", status: 404 });
  });

  it("renames, and makes a file public or private, and its URL follows", async () => {
    const ann = as(fresh());
    const [f] = await ann.upload("profilePicture", { files: [png("before.png")] });
    const renamed = await ann.files.rename(f!.key, "after.png");
    expect(renamed.name).toBe("after.png");
    const dl = await fetch(renamed.file!.url);
    expect(dl.status).toBe(200);
    expect(dl.headers.get("content-disposition")).toContain("after.png");

    const pub = await ann.files.setAcl(f!.key, "public-read");
    expect(pub.acl).toBe("public-read");
    expect(pub.file!.url).not.toContain("sig=");
    expect((await fetch(pub.file!.url)).status).toBe(200);
    const priv = await ann.files.setAcl(f!.key, "private");
    expect(priv.file!.url).toContain("sig=");
    expect((await fetch(pub.file!.url)).status).toBe(404);
  });

  it("deletes files for good, one result per key", async () => {
    const ann = as(fresh());
    const [a] = await ann.upload("profilePicture", { files: [png("a.png")] });
    const [b] = await ann.upload("profilePicture", { files: [png("b.png")] });
    const url = a!.url;
    expect((await fetch(url)).status).toBe(200);
    const results = await ann.files.delete([a!.key, b!.key, a!.key, "no-such-key"]);
    const byKey = results.map((r) => r.result);
    // The repeated key: one of the two calls deleted it, the other found nothing.
    expect(byKey.filter((r) => r === "deleted")).toHaveLength(2);
    expect(byKey.filter((r) => r === "notFound")).toHaveLength(2);
    expect(results.map((r) => r.key)).toEqual([a!.key, b!.key, a!.key, "no-such-key"]);
    expect((await fetch(url)).status).toBe(404);
    expect((await ann.files.list()).files).toEqual([]);
  });

  it("refusals reject with the server's code", async () => {
    const nobody = createUploader<UploadRouter>({ url: base() });
    const e = await nobody.files.list().then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(UploadError);
    expect((e as UploadError).code).toBe("UNAUTHORIZED");
    const ann = as(fresh());
    await expect(ann.files.list({ cursor: "not a cursor" })).rejects.toMatchObject({ code: "BAD_REQUEST" });
    await expect(ann.files.list({ limit: 1000 })).rejects.toMatchObject({ code: "BAD_REQUEST" });
    const [f] = await ann.upload("profilePicture", { files: [png("x.png")] });
    await expect(ann.files.rename(f!.key, "   ")).rejects.toMatchObject({ code: "INVALID_INPUT" });
  });
});
