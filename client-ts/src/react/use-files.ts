// `useFiles(query)`: the caller's stored files as React state — a "my files" list that loads
// page by page and deletes, renames or changes the ACL of a file in place — over the
// uploader's `files` API (a server whose router calls `manage_files`).

import { useCallback, useEffect, useRef, useState } from "react";

import { UploadError } from "../errors.js";
import type { FilesQuery } from "../files.js";
import type { Acl, DeleteResult, FileInfo } from "../protocol.js";
import type { RouterShape, Slug } from "../types.js";
import type { Uploader } from "../uploader.js";

/** What `useFiles` returns. */
export interface UseFilesResult {
  /** The files loaded so far, newest first. */
  files: FileInfo[];
  /** A page is being fetched. */
  loading: boolean;
  /** Why the last call failed, until the next one succeeds. */
  error: UploadError | null;
  /** Whether `loadMore` has another page to fetch. */
  hasMore: boolean;
  /** Fetches the next page and appends it. */
  loadMore: () => Promise<void>;
  /** Starts over from the first page (after an upload, say). */
  refresh: () => Promise<void>;
  /** Deletes files and drops the deleted ones (and those already gone) from `files`. */
  remove: (keys: string | readonly string[]) => Promise<DeleteResult[] | undefined>;
  /** Renames a file and shows its new name. */
  rename: (key: string, name: string) => Promise<FileInfo | undefined>;
  /** Makes a file public or private and shows its new URL. */
  setAcl: (key: string, acl: Acl) => Promise<FileInfo | undefined>;
}

function asError(e: unknown): UploadError {
  return e instanceof UploadError ? e : new UploadError("INTERNAL", String(e));
}

/** Binds `useFiles` to one uploader (as `generateReactHelpers` does). */
export function makeUseFiles<R extends RouterShape<R>>(uploader: Uploader<R>) {
  return function useFiles(query: Omit<FilesQuery<Slug<R>>, "cursor" | "signal"> = {}): UseFilesResult {
    const [files, setFiles] = useState<FileInfo[]>([]);
    const [loading, setLoading] = useState(false);
    const [error, setError] = useState<UploadError | null>(null);
    const [cursor, setCursor] = useState<string | null>(null);
    const [started, setStarted] = useState(false);
    // The query as a stable value: a new object with the same fields does not refetch.
    const key = JSON.stringify(query);
    const generation = useRef(0);
    // One page at a time: a second `loadMore` while one runs would append the same page twice.
    const busy = useRef(false);

    const fetchPage = useCallback(
      async (after: string | null, append: boolean) => {
        const mine = append ? generation.current : ++generation.current;
        setLoading(true);
        try {
          const page = await uploader.files.list({ ...(JSON.parse(key) as object), ...(after ? { cursor: after } : {}) });
          if (mine !== generation.current) return;
          setFiles((old) => (append ? [...old, ...page.files] : page.files));
          setCursor(page.nextCursor);
          setError(null);
        } catch (e) {
          if (mine === generation.current) setError(asError(e));
        } finally {
          if (mine === generation.current) {
            setLoading(false);
            setStarted(true);
          }
        }
      },
      [key],
    );

    useEffect(() => {
      void fetchPage(null, false);
    }, [fetchPage]);

    const guarded = async <T,>(call: () => Promise<T>): Promise<T | undefined> => {
      try {
        const out = await call();
        setError(null);
        return out;
      } catch (e) {
        setError(asError(e));
        return undefined;
      }
    };
    const replace = (info: FileInfo | undefined) => {
      if (info) setFiles((old) => old.map((f) => (f.key === info.key ? info : f)));
      return info;
    };

    return {
      files,
      loading,
      error,
      hasMore: started && cursor !== null,
      loadMore: async () => {
        if (cursor === null || busy.current) return;
        busy.current = true;
        try {
          await fetchPage(cursor, true);
        } finally {
          busy.current = false;
        }
      },
      refresh: () => fetchPage(null, false),
      remove: async (keys) => {
        const results = await guarded(() => uploader.files.delete(keys));
        if (results) {
          const gone = new Set(results.filter((r) => r.result !== "inProgress").map((r) => r.key));
          setFiles((old) => old.filter((f) => !gone.has(f.key)));
        }
        return results;
      },
      rename: async (k, name) => replace(await guarded(() => uploader.files.rename(k, name))),
      setAcl: async (k, acl) => replace(await guarded(() => uploader.files.setAcl(k, acl))),
    };
  };
}
