// Type-checked against the installed tarball under NodeNext and Bundler resolution: the
// package's types resolve from `dist/`, without tus-js-client (an optional peer) or React.

import {
  checkFiles,
  createUploader,
  normalizeMime,
  UploadError,
  type RouteConfig,
  type StoredFile,
  type UploadErrorCode,
} from "@uplift/client";

type Router = {
  avatar: { input: null; serverData: { url: string }; awaitServerData: true };
};

const mime: string | undefined = normalizeMime("Text/Plain; charset=UTF-8");
// @ts-expect-error: normalizeMime takes a string (fails if the package's types were `any`)
normalizeMime(42);

declare const route: RouteConfig;
checkFiles(route, [{ name: "a.png", size: 1, type: "image/png" }]);

const up = createUploader<Router>({ url: "http://127.0.0.1:1/api/uploads" });
export async function typed(files: File[]): Promise<string> {
  const [file] = await up.upload("avatar", { files });
  // @ts-expect-error: no route is called `nope`
  await up.upload("nope", { files });
  const stored: StoredFile = file!;
  return `${stored.key} ${file!.serverData.url}`;
}

export function codeOf(e: unknown): UploadErrorCode | undefined {
  return e instanceof UploadError ? e.code : undefined;
}

export { mime };
