// `<UploadButton>` and `<UploadDropzone>`: ready components over `useUpload`. Real buttons
// (keyboard, focus), a live status region, drag-and-drop and paste, `accept` and `multiple` from
// the route config, a progress bar, auto or manual mode; a click while uploading cancels.
// Unstyled: every part has a stable `uplift-*` class and `data-*` state for CSS, plus
// `className` / `classNames`; `@uplift/client/react/styles.css` is a small default look.
//
// Written with `createElement` rather than JSX so the package builds with plain `tsc` and no
// JSX settings.

import {
  createElement as h,
  useCallback,
  useId,
  useRef,
  useState,
  type ClipboardEvent,
  type DragEvent,
  type MouseEvent,
  type ReactElement,
  type ReactNode,
} from "react";

import type { UploadError } from "../errors.js";
import type { InputArg, InputOf, RouteConfig, RouterShape, ServerDataOf, Slug } from "../types.js";
import { describeRoute, inputAttributes } from "./describe.js";
import type { UploadStatus, UseUploadOptions, UseUploadResult } from "./use-upload.js";

/** `auto`: choosing or dropping files starts the upload; `manual`: an "Upload" button does. */
export type UploadMode = "auto" | "manual";

/** The parts of a component, for `classNames`. */
export interface UploadClassNames {
  root?: string;
  /** The main button: choose files, upload them (manual mode), or cancel the upload. */
  button?: string;
  /** The dropzone's "drop or paste here" text. */
  label?: string;
  /** What the route accepts, in words. */
  allowedContent?: string;
  /** The list of chosen files in manual mode. */
  fileList?: string;
  /** The dropzone's "Upload N files" button in manual mode. */
  uploadButton?: string;
  /** The "Clear" button in manual mode. */
  clearButton?: string;
  /** The row holding the bar and the percentage. */
  progress?: string;
  progressBar?: string;
  /** The live status line: progress, success, the refusal in words, cancelled. */
  status?: string;
}

/** What custom content renders from. */
export interface UploadRenderState {
  status: UploadStatus;
  /** 0–100. */
  progress: number;
  isUploading: boolean;
  isDragging: boolean;
  /** Files chosen and not yet sent (manual mode). */
  pendingFiles: File[];
  /** The files of the running (or last) upload. */
  sendingFiles: File[];
  error: UploadError | null;
  routeConfig: RouteConfig | undefined;
  mode: UploadMode;
  multiple: boolean;
}

type Content = ReactNode | ((state: UploadRenderState) => ReactNode);

/** Replacements for the default words of each part. */
export interface UploadContent {
  button?: Content;
  label?: Content;
  allowedContent?: Content;
  status?: Content;
}

/** Props shared by `<UploadButton>` and `<UploadDropzone>`. */
export type UploadComponentProps<R extends RouterShape<R>, K extends Slug<R>> = UseUploadOptions<
  ServerDataOf<R, K>
> &
  InputArg<InputOf<R, K>> & {
    /** The file route. */
    slug: K;
    /** Default `auto`. */
    mode?: UploadMode;
    disabled?: boolean;
    /** Added to the root element. */
    className?: string;
    classNames?: UploadClassNames;
    content?: UploadContent;
    /** Files were chosen, dropped or pasted (before any upload starts). */
    onFilesSelected?: (files: File[]) => void;
    /** The root element's id. */
    id?: string;
  };

type UseUpload<R extends RouterShape<R>> = <K extends Slug<R>>(
  slug: K,
  options?: UseUploadOptions<ServerDataOf<R, K>>,
) => UseUploadResult<R, K>;

function cx(...names: Array<string | false | null | undefined>): string {
  return names.filter(Boolean).join(" ");
}

function render(content: Content | undefined, state: UploadRenderState, fallback: ReactNode): ReactNode {
  if (content === undefined) return fallback;
  return typeof content === "function" ? content(state) : content;
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

function statusText(s: UploadRenderState): string {
  switch (s.status) {
    case "uploading":
      // The percentage is in the bar (and the button's label): a live region that changed at
      // every percent would flood screen readers.
      return s.sendingFiles.length === 1
        ? `Uploading ${s.sendingFiles[0]!.name}…`
        : `Uploading ${s.sendingFiles.length} files…`;
    case "complete":
      return "Upload complete.";
    case "cancelled":
      return "Upload cancelled.";
    case "error":
      return s.error ? `${s.error.code}: ${s.error.message}` : "Upload failed.";
    default:
      if (s.pendingFiles.length === 1) return `${s.pendingFiles[0]!.name} selected.`;
      if (s.pendingFiles.length > 1) return `${s.pendingFiles.length} files selected.`;
      return "";
  }
}

function hasFiles(e: DragEvent): boolean {
  return Array.from(e.dataTransfer?.types ?? []).includes("Files");
}

/** What both components are drawn from. */
interface Control {
  state: UploadRenderState;
  hasProgress: boolean;
  cancel: () => void;
  pause: () => void;
  resume: () => void;
  isPaused: boolean;
  pendingFiles: File[];
  setPendingFiles: (files: File[]) => void;
  start: (files: File[]) => void;
  openPicker: () => void;
  fileInput: ReactElement;
  rootHandlers: {
    onDragEnter: (e: DragEvent) => void;
    onDragOver: (e: DragEvent) => void;
    onDragLeave: (e: DragEvent) => void;
    onDrop: (e: DragEvent) => void;
    onPaste: (e: ClipboardEvent) => void;
  };
  rootData: Record<string, string | undefined>;
}

/** The logic both components share: chosen files, drag state, the hidden input, start/cancel. */
function useUploadControl<R extends RouterShape<R>, K extends Slug<R>>(
  useUpload: UseUpload<R>,
  props: UploadComponentProps<R, K>,
): Control {
  const { slug, mode = "auto", disabled = false } = props;
  const upload = useUpload(slug, {
    onComplete: (files) => props.onComplete?.(files),
    onError: (error) => props.onError?.(error),
    onUploadBegin: (file) => props.onUploadBegin?.(file),
    onProgress: (progress) => props.onProgress?.(progress),
    onCancel: () => props.onCancel?.(),
    ...(props.headers === undefined ? {} : { headers: props.headers }),
  });
  const [pendingFiles, setPendingFiles] = useState<File[]>([]);
  const [sendingFiles, setSendingFiles] = useState<File[]>([]);
  const [isDragging, setDragging] = useState(false);
  const inputRef = useRef<HTMLInputElement>(null);
  const attrs = inputAttributes(upload.routeConfig);
  const input = (props as { input?: unknown }).input;

  const start = useCallback(
    (files: File[]) => {
      setPendingFiles([]);
      setSendingFiles(files);
      const startUpload = upload.startUpload as unknown as (files: File[], input?: unknown) => Promise<unknown>;
      void startUpload(files, input);
    },
    [upload.startUpload, input],
  );

  const choose = useCallback(
    (files: File[]) => {
      if (disabled || files.length === 0) return;
      props.onFilesSelected?.(files);
      if (mode === "manual") {
        upload.reset();
        setPendingFiles(files);
      } else {
        start(files);
      }
    },
    [disabled, mode, start, upload.reset, props.onFilesSelected],
  );

  const openPicker = useCallback(() => {
    if (!disabled) inputRef.current?.click();
  }, [disabled]);

  const state: UploadRenderState = {
    status: upload.status,
    progress: upload.progress,
    isUploading: upload.isUploading,
    isDragging,
    pendingFiles,
    sendingFiles,
    error: upload.error,
    routeConfig: upload.routeConfig,
    mode,
    multiple: attrs.multiple,
  };

  const fileInput = h("input", {
    ref: inputRef,
    type: "file",
    hidden: true,
    tabIndex: -1,
    "aria-hidden": true,
    accept: attrs.accept,
    multiple: attrs.multiple,
    disabled,
    "data-uplift-input": slug,
    onChange: (e: { currentTarget: HTMLInputElement }) => {
      const files = Array.from(e.currentTarget.files ?? []);
      // Cleared so that choosing the same file again is a change too.
      e.currentTarget.value = "";
      choose(files);
    },
  });

  const rootHandlers = {
    onDragEnter: (e: DragEvent) => {
      if (!hasFiles(e) || disabled) return;
      e.preventDefault();
      setDragging(true);
    },
    onDragOver: (e: DragEvent) => {
      if (!hasFiles(e) || disabled) return;
      e.preventDefault();
      if (e.dataTransfer) e.dataTransfer.dropEffect = upload.isUploading ? "none" : "copy";
    },
    onDragLeave: (e: DragEvent) => {
      const next = e.relatedTarget as Node | null;
      if (next && e.currentTarget.contains(next)) return;
      setDragging(false);
    },
    onDrop: (e: DragEvent) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      setDragging(false);
      if (upload.isUploading) return;
      choose(Array.from(e.dataTransfer.files));
    },
    onPaste: (e: ClipboardEvent) => {
      const files = Array.from(e.clipboardData?.files ?? []);
      if (files.length === 0 || upload.isUploading) return;
      e.preventDefault();
      choose(files);
    },
  };

  const rootData = {
    "data-state": upload.status,
    "data-mode": mode,
    "data-dragging": isDragging ? "true" : undefined,
    "data-pending": pendingFiles.length ? "true" : undefined,
    "data-disabled": disabled ? "true" : undefined,
    "data-slug": slug,
  };

  return {
    state,
    hasProgress: upload.uploadProgress !== null,
    cancel: upload.cancel,
    pause: upload.pause,
    resume: upload.resume,
    isPaused: upload.isPaused,
    pendingFiles,
    setPendingFiles,
    start,
    openPicker,
    fileInput,
    rootHandlers,
    rootData,
  };
}

function progressRow(c: Control, classNames: UploadClassNames | undefined): ReactElement | null {
  const { status, progress } = c.state;
  const shown = status === "uploading" || (c.hasProgress && status !== "idle");
  if (!shown) return null;
  return h(
    "div",
    { className: cx("uplift-progress", classNames?.progress) },
    h("progress", {
      className: cx("uplift-progress-bar", classNames?.progressBar),
      max: 100,
      value: progress,
      "aria-label": "Upload progress",
      "aria-valuetext": `${progress}%`,
    }),
    h("span", { className: "uplift-progress-value", "aria-hidden": true }, `${progress}%`),
  );
}

function statusLine(c: Control, props: { classNames?: UploadClassNames; content?: UploadContent }, id: string) {
  return h(
    "p",
    {
      id,
      className: cx("uplift-status", props.classNames?.status),
      role: "status",
      "aria-live": "polite",
      "data-state": c.state.status,
      "data-code": c.state.error?.code,
    },
    render(props.content?.status, c.state, statusText(c.state)),
  );
}

function allowedLine(c: Control, props: { classNames?: UploadClassNames; content?: UploadContent }, id: string) {
  const route = c.state.routeConfig;
  const fallback = route ? describeRoute(route) : "\u00a0";
  return h(
    "p",
    { id, className: cx("uplift-allowed", props.classNames?.allowedContent) },
    render(props.content?.allowedContent, c.state, fallback),
  );
}

function fileList(c: Control, classNames: UploadClassNames | undefined): ReactElement | null {
  if (c.pendingFiles.length === 0) return null;
  return h(
    "ul",
    { className: cx("uplift-files", classNames?.fileList) },
    ...c.pendingFiles.map((f, i) => h("li", { key: `${i}:${f.name}` }, f.name)),
  );
}

/** The components, bound to one `useUpload` (see `generateReactHelpers`). */
export function makeComponents<R extends RouterShape<R>>(useUpload: UseUpload<R>) {
  /**
   * A button that opens the file picker (and takes dropped or pasted files). While an upload
   * runs it shows the progress and a click cancels; in manual mode it uploads the chosen files.
   */
  function UploadButton<K extends Slug<R>>(props: UploadComponentProps<R, K>): ReactElement {
    const c = useUploadControl(useUpload, props);
    const ids = useId();
    const [allowedId, statusId] = [`${ids}-allowed`, `${ids}-status`];
    const { state, pendingFiles } = c;
    const manualReady = state.mode === "manual" && pendingFiles.length > 0;

    const defaultLabel = state.isUploading
      ? `Cancel · ${state.progress}%`
      : manualReady
        ? `Upload ${plural(pendingFiles.length, "file", "files")}`
        : state.multiple
          ? "Choose files"
          : "Choose a file";
    const onClick = (e: MouseEvent) => {
      e.preventDefault();
      if (state.isUploading) c.cancel();
      else if (manualReady) c.start(pendingFiles);
      else c.openPicker();
    };

    return h(
      "div",
      {
        id: props.id,
        className: cx("uplift-root", "uplift-button-root", props.className, props.classNames?.root),
        ...c.rootData,
        ...c.rootHandlers,
      },
      h(
        "button",
        {
          type: "button",
          className: cx("uplift-button", props.classNames?.button),
          onClick,
          disabled: props.disabled,
          "aria-describedby": `${allowedId} ${statusId}`,
          "aria-label": state.isUploading ? `Cancel the upload (${state.progress}% sent)` : undefined,
          "data-state": state.status,
        },
        render(props.content?.button, state, defaultLabel),
      ),
      manualReady
        ? h(
            "button",
            {
              type: "button",
              className: cx("uplift-clear", props.classNames?.clearButton),
              onClick: () => c.setPendingFiles([]),
            },
            "Clear",
          )
        : null,
      fileList(c, props.classNames),
      allowedLine(c, props, allowedId),
      progressRow(c, props.classNames),
      statusLine(c, props, statusId),
      c.fileInput,
    );
  }

  /**
   * A drop area with a button to choose files; dropped or pasted files are taken too. While an
   * upload runs the button cancels it.
   */
  function UploadDropzone<K extends Slug<R>>(props: UploadComponentProps<R, K>): ReactElement {
    const c = useUploadControl(useUpload, props);
    const ids = useId();
    const [labelId, allowedId, statusId] = [`${ids}-label`, `${ids}-allowed`, `${ids}-status`];
    const { state, pendingFiles } = c;
    const manualReady = state.mode === "manual" && pendingFiles.length > 0;

    const label = render(
      props.content?.label,
      state,
      state.isDragging
        ? `Drop ${state.multiple ? "the files" : "the file"} to ${state.mode === "manual" ? "add" : "upload"}`
        : `Drag ${state.multiple ? "files" : "a file"} here, paste, or`,
    );
    const buttonLabel = state.isUploading
      ? `Cancel · ${state.progress}%`
      : state.multiple
        ? "Choose files"
        : "Choose a file";

    return h(
      "div",
      {
        id: props.id,
        className: cx("uplift-root", "uplift-dropzone", props.className, props.classNames?.root),
        ...c.rootData,
        ...c.rootHandlers,
        // A click on the empty area opens the picker too (the button is the keyboard way).
        onClick: (e: MouseEvent) => {
          if (e.target === e.currentTarget && !state.isUploading) c.openPicker();
        },
      },
      h("p", { id: labelId, className: cx("uplift-label", props.classNames?.label) }, label),
      h(
        "button",
        {
          type: "button",
          className: cx("uplift-button", props.classNames?.button),
          disabled: props.disabled,
          "aria-describedby": `${labelId} ${allowedId} ${statusId}`,
          "aria-label": state.isUploading ? `Cancel the upload (${state.progress}% sent)` : undefined,
          "data-state": state.status,
          onClick: () => (state.isUploading ? c.cancel() : c.openPicker()),
        },
        render(props.content?.button, state, buttonLabel),
      ),
      state.isUploading
        ? h(
            "button",
            {
              type: "button",
              className: cx("uplift-pause", props.classNames?.clearButton),
              "aria-pressed": c.isPaused,
              onClick: () => (c.isPaused ? c.resume() : c.pause()),
            },
            c.isPaused ? "Resume" : "Pause",
          )
        : null,
      allowedLine(c, props, allowedId),
      fileList(c, props.classNames),
      manualReady
        ? h(
            "div",
            { className: "uplift-actions" },
            h(
              "button",
              {
                type: "button",
                className: cx("uplift-upload", props.classNames?.uploadButton),
                onClick: () => c.start(pendingFiles),
              },
              `Upload ${plural(pendingFiles.length, "file", "files")}`,
            ),
            h(
              "button",
              {
                type: "button",
                className: cx("uplift-clear", props.classNames?.clearButton),
                onClick: () => c.setPendingFiles([]),
              },
              "Clear",
            ),
          )
        : null,
      progressRow(c, props.classNames),
      statusLine(c, props, statusId),
      c.fileInput,
    );
  }

  return { UploadButton, UploadDropzone };
}
