// Type tests of the React helpers against the demo's generated router: `tsc` (npm run
// typecheck) must accept this file, so every `@ts-expect-error` below is an error it reports.
// Not imported by the page; never bundled.

import type { UploadRouter } from "@generated/router";
import { UploadButton, UploadDropzone, useServerData, useUpload } from "./uplift";

export function HookTypes(files: File[]) {
  const picture = useUpload("profilePicture", {
    onComplete: (done) => {
      // Awaited route: serverData is the hook's type, not null.
      const by: string = done[0]!.serverData.uploadedBy;
      // @ts-expect-error -- no such field in ProfilePictureSaved
      void done[0]!.serverData.caption;
      void by;
    },
    onError: (e) => void e.code,
  });
  void picture.startUpload(files);
  // @ts-expect-error -- profilePicture takes no input
  void picture.startUpload(files, { caption: "x" });

  const post = useUpload("mediaPost", {
    onComplete: (done) => {
      // Not awaited: serverData is null in the upload's answer.
      // @ts-expect-error -- possibly null
      void done[0]!.serverData.postId;
    },
  });
  void post.startUpload(files, { caption: "hi" });
  // @ts-expect-error -- the caption is required
  void post.startUpload(files);
  // @ts-expect-error -- wrong input field type
  void post.startUpload(files, { caption: 1 });

  // @ts-expect-error -- no such route
  useUpload("avatar");

  const later = useServerData("mediaPost", { statusUrl: "/api/uploads/files/k?token=t" });
  const postId: string | undefined = later.data?.postId;
  void postId;
  return null;
}

export function ComponentTypes() {
  return (
    <>
      <UploadButton slug="profilePicture" onComplete={(f) => void f[0]!.serverData.url} />
      <UploadDropzone slug="mediaPost" input={{ caption: "hi" }} mode="manual" />
      {/* @ts-expect-error -- mediaPost needs its input */}
      <UploadDropzone slug="mediaPost" />
      {/* @ts-expect-error -- no such route */}
      <UploadButton slug="avatar" />
      {/* @ts-expect-error -- not a mode */}
      <UploadButton slug="documentReview" mode="later" />
    </>
  );
}

export type Check = UploadRouter["mediaPost"]["input"];
