// Type tests of the generated `UploadThingRouter` with the stock `uploadthing` client types:
// compiled by `tsc --noEmit --strict` (`npm run typecheck`), never run. Each
// `@ts-expect-error` line must be a type error, or tsc fails with "Unused '@ts-expect-error'
// directive"; the rest must compile. The router type is the demo's, generated from its Rust
// routes (`cargo xtask codegen`).

import { genUploader } from "uploadthing/client";
import type { inferEndpointInput, inferEndpointOutput } from "uploadthing/types";
import type {
  PostInput,
  ProfilePictureSaved,
  ReviewTicket,
  UploadThingRouter,
} from "../../generated/ts/router.js";

type Equal<X, Y> = (<T>() => T extends X ? 1 : 2) extends <T>() => T extends Y ? 1 : 2 ? true : false;
function assertType<T extends true>(_?: T): void {}

declare const files: File[];

const { uploadFiles, createUpload } = genUploader<UploadThingRouter>({
  url: "/api/uploads/uploadthing",
  package: "uplift-type-test",
});

// Input and output come from the Rust routes.
assertType<Equal<inferEndpointInput<UploadThingRouter["mediaPost"]>, PostInput>>();
assertType<Equal<inferEndpointInput<UploadThingRouter["profilePicture"]>, undefined>>();
assertType<Equal<inferEndpointOutput<UploadThingRouter["profilePicture"]>, ProfilePictureSaved>>();
// A route that does not await its server data answers `null`.
assertType<Equal<inferEndpointOutput<UploadThingRouter["mediaPost"]>, null>>();

export async function accepted(): Promise<void> {
  const [pic] = await uploadFiles("profilePicture", { files });
  const saved: ProfilePictureSaved = pic!.serverData;
  const by: string = saved.uploadedBy;
  void by;
  const [review] = await uploadFiles("documentReview", { files });
  const ticket: ReviewTicket = review!.serverData;
  void ticket;
  await uploadFiles("mediaPost", { files, input: { caption: "hello" } });
  const upload = await createUpload("mediaPost", { files, input: { caption: "paused" } });
  upload.pauseUpload();
  upload.resumeUpload();
  await upload.done();
}

export async function refused(): Promise<void> {
  // @ts-expect-error: no route has this slug
  await uploadFiles("mediaPosts", { files });
  // @ts-expect-error: the input's `caption` is a string
  await uploadFiles("mediaPost", { files, input: { caption: 42 } });
  // @ts-expect-error: mediaPost needs its input
  await uploadFiles("mediaPost", { files });
  const [pic] = await uploadFiles("profilePicture", { files });
  // @ts-expect-error: the server data has no such field
  void pic!.serverData.uploader;
  const [media] = await uploadFiles("mediaPost", { files, input: { caption: "x" } });
  // @ts-expect-error: mediaPost does not await its server data: it is null
  void media!.serverData.postId;
}
