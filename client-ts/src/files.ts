// Managing stored files over HTTP (`Router::manage_files` on the server, docs/files.md): the
// files the app lets the caller manage, listed page by page, renamed, made public or private,
// deleted. Every call carries the uploader's headers (the caller's session).

import { UploadError } from "./errors.js";
import type { Acl, DeleteResult, FileChange, FileInfo, FileList, UploadStatus } from "./protocol.js";
import { withRetry, type RetryPolicy } from "./retry.js";
import { requestJson, type FetchLike } from "./transport.js";

/** Which files {@link FilesApi.list} lists; every field narrows it. */
export interface FilesQuery<S extends string = string> {
  /** Only this route's files. */
  route?: S;
  /** Only files in this state. */
  status?: UploadStatus;
  /** Only files with this custom id. */
  customId?: string;
  /** Only files uploaded at or after this time. */
  createdFrom?: Date | number;
  /** Only files uploaded before this time. */
  createdUntil?: Date | number;
  /** The `nextCursor` of the page before. */
  cursor?: string;
  /** Most files on the page, 1–100 (default 20). */
  limit?: number;
  signal?: AbortSignal;
}

/** Options of one call. */
export interface FilesCallOptions {
  signal?: AbortSignal;
}

/** The stored files the caller may manage (`up.files`). */
export interface FilesApi<S extends string = string> {
  /** A page of files, newest first; follow `nextCursor` for the next one. */
  list(query?: FilesQuery<S>): Promise<FileList>;
  /**
   * Deletes files, bytes and records, one result per key in order: `deleted`, `notFound`
   * (already gone, or not the caller's) or `inProgress` (still uploading: it stays). Other
   * refusals (no session, say) reject.
   */
  delete(keys: string | readonly string[], options?: FilesCallOptions): Promise<DeleteResult[]>;
  /** Renames a stored file (the name downloads are saved as); resolves with it as it is now. */
  rename(key: string, name: string, options?: FilesCallOptions): Promise<FileInfo>;
  /** Makes a stored file public (`public-read`) or private; its `file.url` changes with it. */
  setAcl(key: string, acl: Acl, options?: FilesCallOptions): Promise<FileInfo>;
}

/** What the files API shares with the uploader it belongs to. */
export interface FilesContext {
  base: string;
  fetch: FetchLike;
  policy: RetryPolicy;
  headers: () => Promise<Record<string, string>>;
}

/** Deletions sent at once. */
const DELETE_CONCURRENCY = 4;

function millis(t: Date | number): number {
  return typeof t === "number" ? t : t.getTime();
}

export function filesApi<S extends string>(ctx: FilesContext): FilesApi<S> {
  const url = (path: string) => `${ctx.base}/files${path}`;
  const change = async (key: string, body: FileChange, signal?: AbortSignal): Promise<FileInfo> => {
    const h = await ctx.headers();
    // A change is idempotent: retried like a read.
    return withRetry(ctx.policy, signal, () =>
      requestJson<FileInfo>(ctx.fetch, "PATCH", url(`/${encodeURIComponent(key)}`), h, body, signal),
    );
  };
  const deleteOne = async (key: string, h: Record<string, string>, signal?: AbortSignal): Promise<DeleteResult> => {
    let attempts = 0;
    try {
      return await withRetry(ctx.policy, signal, () => {
        attempts++;
        return requestJson<DeleteResult>(ctx.fetch, "DELETE", url(`/${encodeURIComponent(key)}`), h, undefined, signal);
      });
    } catch (e) {
      // A retry that finds the file gone after an attempt whose answer was lost: that attempt
      // deleted it.
      if (e instanceof UploadError && e.code === "NOT_FOUND") return { key, result: attempts > 1 ? "deleted" : "notFound" };
      if (e instanceof UploadError && e.code === "IN_PROGRESS") return { key, result: "inProgress" };
      throw e;
    }
  };
  return {
    async list(query = {}) {
      const q = new URLSearchParams();
      if (query.route !== undefined) q.set("route", query.route);
      if (query.status !== undefined) q.set("status", query.status);
      if (query.customId !== undefined) q.set("customId", query.customId);
      if (query.createdFrom !== undefined) q.set("createdFrom", String(millis(query.createdFrom)));
      if (query.createdUntil !== undefined) q.set("createdUntil", String(millis(query.createdUntil)));
      if (query.cursor !== undefined) q.set("cursor", query.cursor);
      if (query.limit !== undefined) q.set("limit", String(query.limit));
      const qs = q.toString();
      const h = await ctx.headers();
      return withRetry(ctx.policy, query.signal, () =>
        requestJson<FileList>(ctx.fetch, "GET", url(qs ? `?${qs}` : ""), h, undefined, query.signal),
      );
    },
    async delete(keys, options = {}) {
      const list = typeof keys === "string" ? [keys] : [...keys];
      const h = await ctx.headers();
      const out: DeleteResult[] = new Array<DeleteResult>(list.length);
      let next = 0;
      const worker = async () => {
        while (next < list.length) {
          const i = next++;
          out[i] = await deleteOne(list[i]!, h, options.signal);
        }
      };
      await Promise.all(Array.from({ length: Math.min(DELETE_CONCURRENCY, list.length) }, worker));
      return out;
    },
    rename(key, name, options = {}) {
      return change(key, { name }, options.signal);
    },
    setAcl(key, acl, options = {}) {
      return change(key, { acl }, options.signal);
    },
  };
}
