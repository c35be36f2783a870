// `useUpload(slug, options)`: one route's upload as React state — start, progress, result,
// error, cancel — over an uploader made by `createUploader`.

import { useCallback, useEffect, useRef, useState } from "react";

import { UploadError } from "../errors.js";
import type { UploadProgress } from "../progress.js";
import type { UploadBeginInfo, Uploader, UploadHandle } from "../uploader.js";
import type {
  FileInput,
  HeadersOption,
  HookServerDataOf,
  InputArg,
  InputOf,
  RouteConfig,
  RouterShape,
  ServerDataOf,
  Slug,
  StatusRef,
  UploadedFile,
} from "../types.js";

/** Where an upload of a `useUpload` stands. */
export type UploadStatus = "idle" | "uploading" | "complete" | "error" | "cancelled";

/** Options of `useUpload`; the callbacks are read when they fire, so inline functions are fine. */
export interface UseUploadOptions<SD> {
  /** Every file is stored (and, on routes that await it, has its server data). */
  onComplete?: (files: UploadedFile<SD>[]) => void;
  /**
   * The upload failed: a refusal by the client-side checks or by the server (same codes), a
   * network error after the retries, a failed completion hook. Not called for `cancel()`.
   */
  onError?: (error: UploadError) => void;
  /** A file's bytes start to go out (once per file), with its storage key. */
  onUploadBegin?: (file: UploadBeginInfo) => void;
  /** Byte-weighted progress, as the `progress` state gets it. */
  onProgress?: (progress: UploadProgress) => void;
  /** The upload was cancelled with `cancel()` (or by a component's button). */
  onCancel?: () => void;
  /** Added to the uploader's headers for this route's API calls. */
  headers?: HeadersOption;
}

/**
 * `startUpload`'s arguments: the files, then the input — required when the route's input has
 * required fields, optional otherwise.
 */
export type StartUploadArgs<I> = {} extends InputArg<I>
  ? [files: Iterable<FileInput> | ArrayLike<FileInput>, input?: I]
  : [files: Iterable<FileInput> | ArrayLike<FileInput>, input: I];

/** What `useUpload` returns. */
export interface UseUploadResult<R extends RouterShape<R>, K extends Slug<R>> {
  /**
   * Uploads the files; resolves with them, or with `undefined` when the upload failed (see
   * `error` and `onError`) or was cancelled. Starting while an upload runs cancels that one.
   */
  startUpload: (...args: StartUploadArgs<InputOf<R, K>>) => Promise<UploadedFile<ServerDataOf<R, K>>[] | undefined>;
  /** Cancels the running upload: nothing of it stays on the server. */
  cancel: () => void;
  /**
   * Pauses the running upload: large files (sent over tus) go on from the server's offset on
   * `resume`; a file sent in one request starts over.
   */
  pause: () => void;
  /** Goes on after `pause`. */
  resume: () => void;
  /** The running upload is paused. */
  isPaused: boolean;
  /** Back to `idle`: forgets the last result and error (does not cancel). */
  reset: () => void;
  status: UploadStatus;
  isUploading: boolean;
  /** 0–100, byte-weighted over the files, never going backwards; 100 only when all are done. */
  progress: number;
  /** Per-file and total bytes of the running (or last) upload. */
  uploadProgress: UploadProgress | null;
  /** The files of the last successful upload. */
  files: UploadedFile<ServerDataOf<R, K>>[] | null;
  /** Why the last upload failed (`null` after a success or a cancel). */
  error: UploadError | null;
  /** The route's config (types, sizes, counts), once known. */
  routeConfig: RouteConfig | undefined;
}

interface State<SD> {
  status: UploadStatus;
  progress: UploadProgress | null;
  files: UploadedFile<SD>[] | null;
  error: UploadError | null;
}

const IDLE: State<never> = { status: "idle", progress: null, files: null, error: null };

function asUploadError(error: unknown): UploadError {
  if (error instanceof UploadError) return error;
  return new UploadError("INTERNAL", error instanceof Error ? error.message : String(error), { cause: error });
}

/** The route's config from the uploader (fetched once per uploader, shared by every hook). */
export function useRouteConfig<R extends RouterShape<R>>(uploader: Uploader<R>, slug: Slug<R>): RouteConfig | undefined {
  const [config, setConfig] = useState<{ slug: string; route: RouteConfig } | undefined>(undefined);
  useEffect(() => {
    let live = true;
    uploader.routeConfig(slug).then(
      (route) => {
        if (live) setConfig({ slug, route });
      },
      () => {
        // Unknown route or server down: the upload itself will report it.
      },
    );
    return () => {
      live = false;
    };
  }, [uploader, slug]);
  return config?.slug === slug ? config.route : undefined;
}

/** The hook, bound to one uploader (see `generateReactHelpers`). */
export function makeUseUpload<R extends RouterShape<R>>(uploader: Uploader<R>) {
  return function useUpload<K extends Slug<R>>(
    slug: K,
    options: UseUploadOptions<ServerDataOf<R, K>> = {},
  ): UseUploadResult<R, K> {
    type SD = ServerDataOf<R, K>;
    const [state, setState] = useState<State<SD>>(IDLE);
    const routeConfig = useRouteConfig(uploader, slug);
    const optionsRef = useRef(options);
    optionsRef.current = options;
    const handleRef = useRef<UploadHandle<SD> | null>(null);

    const [isPaused, setPaused] = useState(false);
    const cancel = useCallback(() => {
      handleRef.current?.cancel();
    }, []);
    const pause = useCallback(() => {
      handleRef.current?.pause();
      setPaused(handleRef.current?.paused ?? false);
    }, []);
    const resume = useCallback(() => {
      handleRef.current?.resume();
      setPaused(false);
    }, []);

    const startUpload = useCallback(
      async (files: Iterable<FileInput> | ArrayLike<FileInput>, input?: unknown) => {
        handleRef.current?.cancel();
        setPaused(false);
        const list = Array.from(files as ArrayLike<FileInput>);
        const opts = optionsRef.current;
        setState({ status: "uploading", progress: null, files: null, error: null });
        const handle = uploader.createUpload(slug, {
          files: list,
          input,
          headers: opts.headers,
          onProgress: (progress: UploadProgress) => {
            if (handleRef.current !== handle) return;
            setState((s) => (s.status === "uploading" ? { ...s, progress } : s));
            optionsRef.current.onProgress?.(progress);
          },
          onUploadBegin: (file: UploadBeginInfo) => optionsRef.current.onUploadBegin?.(file),
        } as unknown as Parameters<Uploader<R>["createUpload"]>[1]) as unknown as UploadHandle<SD>;
        handleRef.current = handle;
        try {
          const done = await handle.promise;
          if (handleRef.current !== handle) return undefined;
          handleRef.current = null;
          setPaused(false);
          setState((s) => ({ status: "complete", progress: s.progress && full(s.progress), files: done, error: null }));
          optionsRef.current.onComplete?.(done);
          return done;
        } catch (caught) {
          const error = asUploadError(caught);
          if (handleRef.current !== handle) return undefined;
          handleRef.current = null;
          setPaused(false);
          if (error.code === "ABORTED") {
            setState((s) => ({ ...s, status: "cancelled", error: null }));
            optionsRef.current.onCancel?.();
          } else {
            setState((s) => ({ ...s, status: "error", error }));
            optionsRef.current.onError?.(error);
          }
          return undefined;
        }
      },
      [slug],
    ) as UseUploadResult<R, K>["startUpload"];

    const reset = useCallback(() => {
      if (handleRef.current) return;
      setState(IDLE);
    }, []);

    return {
      startUpload,
      cancel,
      pause,
      resume,
      isPaused: isPaused && state.status === "uploading",
      reset,
      status: state.status,
      isUploading: state.status === "uploading",
      progress: state.progress?.percentage ?? (state.status === "complete" ? 100 : 0),
      uploadProgress: state.progress,
      files: state.files,
      error: state.error,
      routeConfig,
    };
  };
}

function full(p: UploadProgress): UploadProgress {
  return {
    loaded: p.total,
    total: p.total,
    percentage: 100,
    files: p.files.map((f) => ({ ...f, loaded: f.total, percentage: 100, state: "complete" })),
  };
}

/** What `useServerData` returns. */
export interface ServerDataState<T> {
  /** The completion hook's answer, once there is one. */
  data: T | undefined;
  /** The hook's failure (or the status poll's). */
  error: UploadError | null;
  /** Waiting for the hook. */
  pending: boolean;
}

/**
 * The server data of an uploaded file on a route that does not await it in the upload: polls
 * the file's status until the completion hook has answered. `file` is the uploaded file (or
 * anything with its `statusUrl`), and may be `null` (nothing yet).
 */
export function makeUseServerData<R extends RouterShape<R>>(uploader: Uploader<R>) {
  return function useServerData<K extends Slug<R>>(
    slug: K,
    file: StatusRef | null | undefined,
  ): ServerDataState<HookServerDataOf<R, K>> {
    type T = HookServerDataOf<R, K>;
    // The status URL names the file (and carries the token that opens its status).
    const key = file?.statusUrl;
    const [state, setState] = useState<{ key: string | undefined } & ServerDataState<T>>({
      key: undefined,
      data: undefined,
      error: null,
      pending: false,
    });
    useEffect(() => {
      if (key === undefined) return;
      const ctl = new AbortController();
      setState({ key, data: undefined, error: null, pending: true });
      uploader.waitForServerData(slug, { statusUrl: key }, { signal: ctl.signal }).then(
        (data) => setState({ key, data, error: null, pending: false }),
        (error: unknown) => {
          if (ctl.signal.aborted) return;
          setState({ key, data: undefined, error: asUploadError(error), pending: false });
        },
      );
      return () => ctl.abort();
    }, [slug, key]);
    if (key === undefined || state.key !== key) return { data: undefined, error: null, pending: key !== undefined };
    return { data: state.data, error: state.error, pending: state.pending };
  };
}
