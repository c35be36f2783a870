import type { ErrorBody, ErrorCode } from "./protocol.js";

/**
 * Codes only the client produces: the request never got an answer (`NETWORK_ERROR`), the
 * caller cancelled it (`ABORTED`), the server did not finish a stored file (or its completion
 * hook did not answer) within `statusTimeout` (`STATUS_TIMEOUT`), or a file goes over tus and
 * the optional peer dependency tus-js-client is not installed (`TUS_UNAVAILABLE`). Every other
 * code is the server's, or the same code the server would have given for a refusal the client
 * could make on its own.
 */
export type ClientErrorCode = "NETWORK_ERROR" | "ABORTED" | "STATUS_TIMEOUT" | "TUS_UNAVAILABLE";

/** Every code an {@link UploadError} can carry. */
export type UploadErrorCode = ErrorCode | ClientErrorCode;

/** What {@link UploadError}'s constructor takes besides the code and message. */
export interface UploadErrorInit {
  /** Structured detail from the server (field errors, limits), or from the client check. */
  data?: unknown;
  /** The HTTP status the server answered with; `0` when there was no answer. */
  status?: number;
  /** Which of the files given to `upload` the error is about, when it is about one. */
  fileIndex?: number;
  cause?: unknown;
}

/**
 * Why an upload failed: the server's error envelope `{ error: { code, message, data? } }`, a
 * client-side check that refused the files before any request (with the code the server would
 * have given), a network failure or a cancellation.
 */
export class UploadError extends Error {
  override readonly name = "UploadError";
  readonly code: UploadErrorCode;
  readonly data: unknown;
  /** HTTP status; `0` for refusals made by the client and for network failures. */
  readonly status: number;
  readonly fileIndex: number | undefined;

  constructor(code: UploadErrorCode, message: string, init: UploadErrorInit = {}) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.code = code;
    this.data = init.data;
    this.status = init.status ?? 0;
    this.fileIndex = init.fileIndex;
  }

  /** Narrows an unknown caught value. */
  static is(value: unknown): value is UploadError {
    return value instanceof UploadError;
  }

  /** The error for a server's error body (from a response or a failed upload's status). */
  static fromBody(body: ErrorBody, status: number, fileIndex?: number): UploadError {
    return new UploadError(body.code, body.message, {
      data: body.data ?? undefined,
      status,
      ...(fileIndex === undefined ? {} : { fileIndex }),
    });
  }

  /** A copy that names the file it is about. */
  withFileIndex(fileIndex: number): UploadError {
    if (this.fileIndex === fileIndex) return this;
    return new UploadError(this.code, this.message, {
      data: this.data,
      status: this.status,
      fileIndex,
      cause: this.cause,
    });
  }
}

/** The HTTP status that goes with each server code (mirrors `ErrorCode::status`). */
export const STATUS_OF_CODE: Readonly<Record<ErrorCode, number>> = {
  BAD_REQUEST: 400,
  INVALID_INPUT: 400,
  TOO_LARGE: 413,
  SIZE_MISMATCH: 400,
  UNSUPPORTED_TYPE: 415,
  TOO_MANY_FILES: 400,
  TOO_FEW_FILES: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PRECONDITION_FAILED: 412,
  EXPIRED: 410,
  SIGNATURE_INVALID: 403,
  CHECKSUM_MISMATCH: 400,
  RANGE_NOT_SATISFIABLE: 416,
  TOO_MANY_REQUESTS: 429,
  TIMEOUT: 408,
  COMPLETION_FAILED: 500,
  INTERNAL: 500,
  LOCKED: 423,
  OFFSET_MISMATCH: 409,
  TOO_SMALL: 400,
  ALREADY_USED: 409,
  INVALID_PATH: 400,
  POLICY_VIOLATION: 403,
  TOKEN_INVALID: 401,
  TOKEN_EXPIRED: 401,
  TOKEN_ALGORITHM: 401,
  TOKEN_SCOPE: 403,
  CANCELLED: 409,
  IN_PROGRESS: 409,
  FETCH_FAILED: 502,
};

/** The code the server uses for a bare status (mirrors `ErrorCode::from_status`). */
export function codeForStatus(status: number): ErrorCode {
  switch (status) {
    case 408:
      return "TIMEOUT";
    case 401:
      return "UNAUTHORIZED";
    case 403:
      return "FORBIDDEN";
    case 404:
      return "NOT_FOUND";
    case 409:
      return "CONFLICT";
    case 410:
      return "EXPIRED";
    case 412:
      return "PRECONDITION_FAILED";
    case 413:
      return "TOO_LARGE";
    case 415:
      return "UNSUPPORTED_TYPE";
    case 416:
      return "RANGE_NOT_SATISFIABLE";
    case 423:
      return "LOCKED";
    case 429:
      return "TOO_MANY_REQUESTS";
    default:
      return status >= 400 && status < 500 ? "BAD_REQUEST" : "INTERNAL";
  }
}

function isErrorBody(value: unknown): value is ErrorBody {
  if (typeof value !== "object" || value === null) return false;
  const v = value as { code?: unknown; message?: unknown };
  return typeof v.code === "string" && typeof v.message === "string";
}

/**
 * The error for a non-2xx answer: the server's envelope when the body is one, else a code
 * derived from the status (a proxy's HTML 502, say).
 */
export function errorFromResponse(status: number, bodyText: string): UploadError {
  try {
    const parsed: unknown = JSON.parse(bodyText);
    const inner = (parsed as { error?: unknown } | null)?.error;
    if (isErrorBody(inner)) return UploadError.fromBody(inner, status);
  } catch {
    // not JSON: fall through
  }
  const code = codeForStatus(status);
  return new UploadError(code, `the server answered ${status}${bodyText ? `: ${bodyText.slice(0, 200)}` : ""}`, {
    status,
  });
}

export function abortError(signal?: AbortSignal): UploadError {
  const reason: unknown = signal?.reason;
  if (reason instanceof UploadError) return reason;
  return new UploadError("ABORTED", "the upload was cancelled", { cause: reason });
}

export function networkError(cause: unknown): UploadError {
  const detail = cause instanceof Error && cause.message ? `: ${cause.message}` : "";
  return new UploadError("NETWORK_ERROR", `the request failed before the server answered${detail}`, { cause });
}
