/**
 * Runs a user callback so that its exception cannot break the upload; the error is reported
 * where the platform can (`reportError` in browsers).
 */
export function safely(fn: () => void): void {
  try {
    fn();
  } catch (error) {
    const report = (globalThis as { reportError?: (e: unknown) => void }).reportError;
    if (typeof report === "function") report(error);
  }
}

/** Where one file of an upload stands. */
export type FileUploadState = "pending" | "uploading" | "completing" | "complete" | "failed";

/** Progress of one file. `loaded` never goes down, even when a retry sends the file again. */
export interface FileProgress {
  /** The file's position in the `files` given to `upload`. */
  index: number;
  name: string;
  /** Bytes sent (at most `total`). */
  loaded: number;
  /** The file's size in bytes. */
  total: number;
  /** 0–100, byte-weighted, whole percent rounded down (100 only when the file is done). */
  percentage: number;
  state: FileUploadState;
}

/** Progress of a whole upload, weighted by bytes. */
export interface UploadProgress {
  loaded: number;
  total: number;
  /** 0–100, rounded down; 100 only when every file is done. */
  percentage: number;
  files: FileProgress[];
}

function percent(loaded: number, total: number, done: boolean): number {
  if (done) return 100;
  if (total <= 0) return 0;
  return Math.min(99, Math.floor((loaded / total) * 100));
}

/**
 * Byte-weighted progress across files, monotonic per file and in total: a retry that starts a
 * file over holds its bar where it was until the new attempt passes it.
 */
export class ProgressTracker {
  private readonly files: FileProgress[];
  private readonly listener: ((p: UploadProgress) => void) | undefined;
  private lastEmitted = "";

  constructor(files: ReadonlyArray<{ name: string; size: number }>, listener?: (p: UploadProgress) => void) {
    this.files = files.map((f, index) => ({
      index,
      name: f.name,
      loaded: 0,
      total: f.size,
      percentage: 0,
      state: "pending",
    }));
    this.listener = listener;
  }

  /** Bytes of file `index` sent so far in the current attempt. */
  bytes(index: number, loaded: number): void {
    const f = this.files[index]!;
    const next = Math.min(f.total, Math.max(0, loaded));
    if (next <= f.loaded) return;
    f.loaded = next;
    f.percentage = Math.max(f.percentage, percent(f.loaded, f.total, false));
    this.emit();
  }

  state(index: number, state: FileUploadState): void {
    const f = this.files[index]!;
    if (f.state === "complete") return;
    f.state = state;
    if (state === "complete") {
      f.loaded = f.total;
      f.percentage = 100;
    }
    this.emit();
  }

  snapshot(): UploadProgress {
    const files = this.files.map((f) => ({ ...f }));
    const loaded = files.reduce((s, f) => s + f.loaded, 0);
    const total = files.reduce((s, f) => s + f.total, 0);
    const done = files.every((f) => f.state === "complete");
    return { loaded, total, percentage: percent(loaded, total, done), files };
  }

  private emit(): void {
    if (!this.listener) return;
    const snap = this.snapshot();
    // Only tell the listener about real changes.
    const key = `${snap.loaded}|${snap.files.map((f) => f.state).join(",")}`;
    if (key === this.lastEmitted) return;
    this.lastEmitted = key;
    const listener = this.listener;
    safely(() => listener(snap));
  }
}
