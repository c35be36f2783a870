// Type tests: compiled by `tsc --noEmit --strict` (`npm run typecheck`), never run. Each
// `@ts-expect-error` line must be a type error, or tsc fails with "Unused '@ts-expect-error'
// directive"; the rest must compile. The router type is the demo's, generated from its Rust
// routes (`cargo xtask codegen`).

import { createUploader, UploadError, type UploadedFile, type UploadProgress } from "../src/index.js";
import {
  routeConfig,
  type AttachmentPosted,
  type PostMedia,
  type ProfilePictureSaved,
  type ReviewTicket,
  type UploadRouter,
} from "../../generated/ts/router.js";

type Equal<X, Y> = (<T>() => T extends X ? 1 : 2) extends <T>() => T extends Y ? 1 : 2 ? true : false;
function assertType<T extends true>(_?: T): void {}

declare const files: File[];
declare const fileList: FileList;

const up = createUploader<UploadRouter>({ url: "/api/uploads" });
// The generated route configs can stand in for `GET {base}`.
const offline = createUploader<UploadRouter>({ url: "/api/uploads", routes: routeConfig, headers: async () => ({ "x-user": "ann" }) });

export async function accepted(): Promise<void> {
  // Awaited routes resolve with their server data, typed.
  const [pic] = await up.upload("profilePicture", { files });
  assertType<Equal<typeof pic, UploadedFile<ProfilePictureSaved> | undefined>>();
  const saved: ProfilePictureSaved = pic!.serverData;
  const by: string = saved.uploadedBy;
  void by;

  const [doc] = await offline.upload("documentReview", { files: fileList });
  assertType<Equal<typeof doc, UploadedFile<ReviewTicket> | undefined>>();
  const pages: number = doc!.serverData.pagesEstimate;
  void pages;

  // Routes that do not await it: `null` in the type; the hook's answer comes from the status.
  const media = await up.upload("mediaPost", { files, input: { caption: "hello" } });
  assertType<Equal<(typeof media)[number]["serverData"], null>>();
  const later: PostMedia = await up.waitForServerData("mediaPost", media[0]!);
  void later;
  const [att] = await up.upload("messageAttachment", { files });
  const posted: AttachmentPosted = await up.waitForServerData("messageAttachment", att!);
  void posted;

  // Routes without input take none, `{}` or `null`.
  await up.upload("messageAttachment", { files, input: {} });
  await up.upload("messageAttachment", { files, input: null });

  // Stored-file fields from the protocol.
  const f = pic!;
  const fields: [string, string, number, string, "public-read" | "private", string | null] = [
    f.key,
    f.name,
    f.size,
    f.sha256,
    f.acl,
    f.customId,
  ];
  void fields;

  // Every option.
  const ctl = new AbortController();
  await up.upload("mediaPost", {
    files,
    input: { caption: "x" },
    signal: ctl.signal,
    headers: { "x-user": "ann" },
    clientChecks: false,
    onProgress: (p: UploadProgress) => void p.files[0]?.percentage,
    onUploadBegin: ({ index, name, key }) => void [index, name, key],
    onFileComplete: (file, index) => {
      assertType<Equal<typeof file, UploadedFile<null>>>();
      void index;
    },
  });

  // The handle.
  const handle = up.createUpload("documentReview", { files });
  handle.pause();
  handle.resume();
  handle.cancel("changed my mind");
  const paused: boolean = handle.paused;
  void paused;
  const [reviewed] = await handle.promise;
  const ticket: ReviewTicket = reviewed!.serverData;
  void ticket;

  // Route configs.
  const cfg = await up.routeConfig("mediaPost");
  const max: number | undefined = cfg.types[0]?.maxFileSize;
  void max;
  const all = await up.routeConfig();
  void all.map((r) => r.slug);

  // Errors carry the server's codes, and the client's own two.
  try {
    await up.upload("profilePicture", { files });
  } catch (e) {
    if (UploadError.is(e)) {
      switch (e.code) {
        case "TOO_LARGE":
        case "UNSUPPORTED_TYPE":
        case "NETWORK_ERROR":
        case "ABORTED":
          break;
        default: {
          const other: string = e.code;
          void other;
        }
      }
      const status: number = e.status;
      const data: unknown = e.data;
      void [status, data];
    }
  }
}

export async function refused(): Promise<void> {
  // @ts-expect-error: no route is called `profilePic`
  await up.upload("profilePic", { files });

  // @ts-expect-error: `caption` is a string
  await up.upload("mediaPost", { files, input: { caption: 42 } });

  // @ts-expect-error: mediaPost's input (a caption) is required
  await up.upload("mediaPost", { files });

  // @ts-expect-error: the input lacks its required `caption`
  await up.upload("mediaPost", { files, input: {} });

  // @ts-expect-error: the input has no field `tags`
  await up.upload("mediaPost", { files, input: { caption: "x", tags: ["a"] } });

  // @ts-expect-error: profilePicture takes no input
  await up.upload("profilePicture", { files, input: { caption: "x" } });

  // @ts-expect-error: `files` is required
  await up.upload("profilePicture", {});

  const [pic] = await up.upload("profilePicture", { files });
  // @ts-expect-error: ProfilePictureSaved has no `postId`
  void pic!.serverData.postId;

  const [doc] = await up.upload("documentReview", { files });
  // @ts-expect-error: ReviewTicket has `pagesEstimate`, not `pageCount`
  void doc!.serverData.pageCount;

  const [media] = await up.upload("mediaPost", { files, input: { caption: "x" } });
  // @ts-expect-error: mediaPost does not await its server data: it is null in the upload's result
  void media!.serverData.postId;

  // @ts-expect-error: … and cannot be used as the hook's type
  const asPost: PostMedia = media!.serverData;
  void asPost;

  const [att] = await up.upload("messageAttachment", { files });
  // @ts-expect-error: messageAttachment's serverData is null, so not an AttachmentPosted
  const asAttachment: AttachmentPosted = att!.serverData;
  void asAttachment;

  // @ts-expect-error: the server data of mediaPost is not a ReviewTicket
  const wrong: ReviewTicket = await up.waitForServerData("mediaPost", media!);
  void wrong;

  await up.upload("profilePicture", {
    files,
    // @ts-expect-error: the files of profilePicture carry ProfilePictureSaved, not ReviewTicket
    onFileComplete: (f: UploadedFile<ReviewTicket>) => void f,
  });

  // @ts-expect-error: no route is called `nope`
  await up.routeConfig("nope");

  // @ts-expect-error: the uploader needs the base URL
  createUploader<UploadRouter>({});

  // @ts-expect-error: a router type must say, per route, its input, server data and awaitServerData
  createUploader<{ x: { input: null } }>({ url: "/" });
}

// `up.files` filters by the router's own slugs.
{
  const up = createUploader<UploadRouter>({ url: "/api/uploads" });
  void up.files.list({ route: "mediaPost", status: "complete" });
  // @ts-expect-error not a route of this router
  void up.files.list({ route: "nope" });
  // @ts-expect-error not an ACL
  void up.files.setAcl("key", "world-readable");
}
