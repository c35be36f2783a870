// The options of large-file uploads over tus 1.0 (see `tus-file.ts` for the transfer). Part of
// the client's public types, so nothing here names tus-js-client's types: it is an optional
// peer dependency, and a project without it must still type-check.

/** Options of the tus transfer of large files (see `UploaderOptions.tus`). */
export interface TusOptions {
  /** Files of at least this many bytes go over tus; smaller ones take one PUT. Default 32 MiB. */
  threshold?: number;
  /** Bytes per PATCH request. Default 8 MiB; `Infinity` sends the rest in one request. */
  chunkSize?: number;
  /** Parts sent at once, joined by the server (tus concatenation). Default 1. */
  parallelUploads?: number;
  /**
   * Remember unfinished uploads (in `localStorage` in browsers) so that the same file, route
   * and input resume from the server's offset after a reload. Default `true`.
   */
  resumable?: boolean;
  /** Where unfinished uploads are remembered (tus-js-client's `UrlStorage`). */
  urlStorage?: TusUrlStorage;
}

/** An unfinished upload as a {@link TusUrlStorage} keeps it (tus-js-client's `PreviousUpload`). */
export interface TusPreviousUpload {
  size: number | null;
  metadata: { [key: string]: string };
  creationTime: string;
  urlStorageKey: string;
  uploadUrl: string | null;
  parallelUploadUrls: string[] | null;
}

/**
 * Where unfinished tus uploads are remembered: the shape of tus-js-client's `UrlStorage`
 * (any of its storages fits), declared here so that the client's types do not need
 * tus-js-client installed.
 */
export interface TusUrlStorage {
  findAllUploads(): Promise<TusPreviousUpload[]>;
  findUploadsByFingerprint(fingerprint: string): Promise<TusPreviousUpload[]>;
  removeUpload(urlStorageKey: string): Promise<void>;
  /** Returns the URL storage key, which can be used for removing the upload. */
  addUpload(fingerprint: string, upload: TusPreviousUpload): Promise<string>;
}

export const DEFAULT_TUS_THRESHOLD = 32 * 1024 * 1024;
export const DEFAULT_TUS_CHUNK_SIZE = 8 * 1024 * 1024;

/** The resolved options of one upload's tus transfers. */
export interface TusSettings {
  threshold: number;
  chunkSize: number;
  parallelUploads: number;
  resumable: boolean;
  urlStorage: TusUrlStorage | undefined;
}

export function tusSettings(...layers: Array<TusOptions | false | undefined>): TusSettings {
  const s: TusSettings = {
    threshold: DEFAULT_TUS_THRESHOLD,
    chunkSize: DEFAULT_TUS_CHUNK_SIZE,
    parallelUploads: 1,
    resumable: true,
    urlStorage: undefined,
  };
  for (const layer of layers) {
    if (layer === undefined) continue;
    if (layer === false) {
      s.threshold = Infinity;
      continue;
    }
    if (layer.threshold !== undefined) s.threshold = layer.threshold;
    if (layer.chunkSize !== undefined) s.chunkSize = layer.chunkSize;
    if (layer.parallelUploads !== undefined) s.parallelUploads = Math.max(1, Math.floor(layer.parallelUploads));
    if (layer.resumable !== undefined) s.resumable = layer.resumable;
    if (layer.urlStorage !== undefined) s.urlStorage = layer.urlStorage;
  }
  return s;
}
