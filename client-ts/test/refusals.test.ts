// Every refusal surfaces as an UploadError with the server's code: those the client makes
// before any request (and the server would make the same), and those only the server can make.

import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, inject, it } from "vitest";
import type { UploadRouter } from "../../generated/ts/router.js";
import { createUploader, UploadError, type UploaderOptions } from "../src/index.js";
import { base, eventually, jpeg, mp4, png, recordingFetch, statusOf } from "./helpers.js";

function uploader(extra: Partial<UploaderOptions> = {}) {
  const rec = recordingFetch();
  const up = createUploader<UploadRouter>({
    url: base(),
    fetch: rec.fetch,
    headers: { "x-user": "ann" },
    retries: { minDelay: 10 },
    ...extra,
  });
  return { up, rec };
}

async function refusal(p: Promise<unknown>): Promise<UploadError> {
  const e: unknown = await p.then(
    () => {
      throw new Error("expected the upload to be refused");
    },
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(UploadError);
  return e as UploadError;
}

/** Cases the client can refuse from the route config alone; the server refuses them alike. */
const checkable = [
  {
    what: "a type the route does not take",
    slug: "profilePicture",
    files: () => [new File(["hello"], "notes.txt", { type: "text/plain" })],
    code: "UNSUPPORTED_TYPE",
    status: 415,
    data: { index: 0, accepted: ["image/*"] },
  },
  {
    what: "something that is not a MIME type",
    slug: "profilePicture",
    files: () => [new File(["x"], "x.png", { type: "png" })],
    code: "UNSUPPORTED_TYPE",
    status: 415,
    data: { index: 0 },
  },
  {
    what: "a 3 MB image on the 2 MB route",
    slug: "profilePicture",
    files: () => [png("big.png", 3 * 1024 * 1024)],
    code: "TOO_LARGE",
    status: 413,
    data: { index: 0, size: 3 * 1024 * 1024, limit: 2 * 1024 * 1024 },
  },
  {
    what: "two images where one is allowed",
    slug: "profilePicture",
    files: () => [png("a.png"), png("b.png")],
    code: "TOO_MANY_FILES",
    status: 400,
    data: { type: "image", count: 2, max: 1 },
  },
  {
    what: "an image and a video where one file in total is allowed",
    slug: "messageAttachment",
    files: () => [jpeg("a.jpg"), mp4("b.mp4")],
    code: "TOO_MANY_FILES",
    status: 400,
    data: { count: 2, max: 1 },
  },
  {
    what: "five images where four are allowed",
    slug: "mediaPost",
    files: () => [1, 2, 3, 4, 5].map((n) => png(`${n}.png`)),
    code: "TOO_MANY_FILES",
    status: 400,
    data: { type: "image", count: 5, max: 4 },
  },
  {
    what: "no file at all",
    slug: "profilePicture",
    files: () => [],
    code: "TOO_FEW_FILES",
    status: 400,
    data: { min: 1 },
  },
] as const;

describe("client-side checks", () => {
  for (const c of checkable) {
    it(`refuse ${c.what} with ${c.code}, before any request, as the server would`, async () => {
      const client = uploader();
      const input = { caption: "checks" };
      const e = await refusal(client.up.upload(c.slug, { files: c.files(), input }));
      expect(e.code).toBe(c.code);
      expect(e.status).toBe(0);
      expect(e.data).toEqual(c.data);
      expect(client.rec.count("POST")).toBe(0);
      expect(client.rec.count("PUT")).toBe(0);

      // The same files with the client's checks off: the server says the same.
      const server = uploader({ clientChecks: false });
      const s = await refusal(server.up.upload(c.slug, { files: c.files(), input }));
      expect(s.code).toBe(c.code);
      expect(s.status).toBe(c.status);
      expect(s.data).toEqual(c.data);
      expect(s.message).toBe(e.message);
      expect(server.rec.count("POST")).toBe(1);
      expect(server.rec.count("PUT")).toBe(0);
    });
  }

  it("can be turned off per upload", async () => {
    const { up, rec } = uploader();
    const e = await refusal(up.upload("profilePicture", { files: [png("a.png"), png("b.png")], clientChecks: false }));
    expect(e.code).toBe("TOO_MANY_FILES");
    expect(e.status).toBe(400);
    expect(rec.count("GET")).toBe(0);
  });

  it("refuse an unknown route with NOT_FOUND", async () => {
    const { up } = uploader();
    const e = await refusal(up.upload("nope" as "profilePicture", { files: [png("a.png")] }));
    expect(e.code).toBe("NOT_FOUND");
    const s = await refusal(up.upload("nope" as "profilePicture", { files: [png("a.png")], clientChecks: false }));
    expect(s.code).toBe("NOT_FOUND");
    expect(s.status).toBe(404);
  });
});

describe("server refusals", () => {
  it("UNAUTHORIZED from the middleware without x-user, not retried", async () => {
    const { up, rec } = uploader({ headers: {} });
    const e = await refusal(up.upload("profilePicture", { files: [png("a.png")] }));
    expect(e.code).toBe("UNAUTHORIZED");
    expect(e.status).toBe(401);
    expect(e.message).toMatch(/sign in first/);
    expect(rec.count("POST")).toBe(1);
  });

  it("INVALID_INPUT with field errors for a blank caption", async () => {
    const { up, rec } = uploader();
    const e = await refusal(up.upload("mediaPost", { files: [png("a.png")], input: { caption: "   " } }));
    expect(e.code).toBe("INVALID_INPUT");
    expect(e.status).toBe(400);
    expect(JSON.stringify(e.data)).toContain("caption");
    expect(rec.count("POST")).toBe(1);
  });

  it("UNSUPPORTED_TYPE for PNG bytes declared as JPEG, and nothing is stored", async () => {
    const { up } = uploader();
    const bytes = await png("x.png", 50_000).arrayBuffer();
    const liar = new File([bytes], "liar.jpg", { type: "image/jpeg" });
    let key = "";
    const e = await refusal(up.upload("profilePicture", { files: [liar], onUploadBegin: (f) => (key = f.key) }));
    expect(e.code).toBe("UNSUPPORTED_TYPE");
    expect(e.status).toBe(415);
    expect(e.fileIndex).toBe(0);
    // What was detected is said; what was declared is not repeated.
    expect(e.data).toEqual({ detected: "image/png" });
    expect(key).not.toBe("");
    const st = await statusOf(key);
    expect(st.status).toBe("failed");
    expect(st.error?.code).toBe("UNSUPPORTED_TYPE");
    expect((await fetch(`${base()}/download/${key}`)).status).toBe(404);
    expect(readdirSync(join(inject("dataDir"), "files"))).not.toContain(key);
  });

  it("a 5xx is retried, a 4xx is not", async () => {
    let prepares = 0;
    const flaky = async (url: string, init?: RequestInit) => {
      if (init?.method === "POST" && ++prepares === 1) {
        return new Response(JSON.stringify({ error: { code: "INTERNAL", message: "internal error" } }), { status: 503 });
      }
      return fetch(url, init);
    };
    const up = createUploader<UploadRouter>({ url: base(), fetch: flaky, headers: { "x-user": "ann" }, retries: { minDelay: 10 } });
    const [res] = await up.upload("profilePicture", { files: [png("a.png")] });
    expect(res!.serverData.uploadedBy).toBe("ann");
    expect(prepares).toBe(2);
  });

  it("gives up after the retries with the last error", async () => {
    let prepares = 0;
    const down = async (url: string, init?: RequestInit) => {
      if (init?.method === "POST") {
        prepares++;
        throw new TypeError("fetch failed");
      }
      return fetch(url, init);
    };
    const up = createUploader<UploadRouter>({ url: base(), fetch: down, headers: { "x-user": "ann" }, retries: { retries: 2, minDelay: 5 } });
    const e = await refusal(up.upload("profilePicture", { files: [png("a.png")] }));
    expect(e.code).toBe("NETWORK_ERROR");
    expect(e.status).toBe(0);
    expect(prepares).toBe(3);
  });

  it("a failure cancels the other files of the upload", async () => {
    const { up } = uploader({ concurrency: 1 });
    const bytes = await png("x.png", 2000).arrayBuffer();
    const liar = new File([bytes], "liar.jpg", { type: "image/jpeg" });
    const keys: string[] = [];
    const e = await refusal(
      up.upload("mediaPost", {
        files: [liar, png("ok.png", 2000), png("ok2.png", 2000)],
        input: { caption: "x" },
        onUploadBegin: (f) => keys.push(f.key),
      }),
    );
    expect(e.code).toBe("UNSUPPORTED_TYPE");
    expect(e.fileIndex).toBe(0);
    // The others never started.
    expect(keys).toHaveLength(1);
  });

  it("reports the refusal of a non-awaited hook only at its status (the upload itself succeeds)", async () => {
    // The demo's background hooks do not fail; this checks that a stored file on such a route
    // resolves before its hook ran.
    const { up } = uploader();
    const [res] = await up.upload("messageAttachment", { files: [mp4("v.mp4")] });
    await eventually(async () => (await statusOf(res!.key)).status === "complete");
  });
});
