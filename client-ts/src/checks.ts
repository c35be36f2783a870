// Client-side checks of the files against a route's config, before any request is sent.
// They mirror the server's prepare checks (server/src/service/prepare.rs): same order, same
// codes, same `data`, so a refusal reads the same whether the client or the server made it.

import { UploadError } from "./errors.js";
import type { FileDeclaration, FileTypeConfig } from "./protocol.js";
import type { RouteRules } from "./types.js";

/** The MIME pattern each shorthand stands for, for a config that does not spell it out. */
const SHORTHANDS: Record<string, string> = {
  image: "image/*",
  video: "video/*",
  audio: "audio/*",
  pdf: "application/pdf",
  text: "text/*",
  blob: "*/*",
};

/** The MIME pattern of one type rule: `image/*`, `application/pdf`, `*\/*`, … */
export function patternOf(rule: Pick<FileTypeConfig, "type" | "mime">): string {
  return rule.mime || SHORTHANDS[rule.type] || rule.type;
}

/** `image/*` matches `image/png`; `*\/*` matches everything; otherwise exact, case-insensitive. */
export function patternMatches(pattern: string, mime: string): boolean {
  const p = pattern.toLowerCase();
  const m = mime.toLowerCase();
  if (p === "*/*" || p === "*") return true;
  if (p.endsWith("/*")) {
    const slash = m.indexOf("/");
    return slash > 0 && m.slice(0, slash) === p.slice(0, -2);
  }
  return p === m;
}

const TOKEN = "[!#$%&'*+.^_`|~0-9a-z-]+";
const MIME_RE = new RegExp(`^${TOKEN}/${TOKEN}$`, "i");

/**
 * Lower-cases a MIME type and drops its parameters (`text/plain; charset=utf-8` → `text/plain`);
 * `undefined` for anything that is not `type/subtype`.
 */
export function normalizeMime(raw: string): string | undefined {
  const essence = raw.split(";", 1)[0]!.trim();
  return MIME_RE.test(essence) ? essence.toLowerCase() : undefined;
}

function specificity(pattern: string): number {
  if (pattern === "*/*" || pattern === "*") return 0;
  return pattern.endsWith("/*") ? 1 : 2;
}

/** The index of the rule a (normalized) MIME type falls under: the most specific match, first on ties. */
export function ruleFor(route: Pick<RouteRules, "types">, mime: string): number | undefined {
  let best: number | undefined;
  let bestSpecificity = -1;
  route.types.forEach((rule, i) => {
    const pattern = patternOf(rule);
    if (!patternMatches(pattern, mime)) return;
    const s = specificity(pattern);
    if (s > bestSpecificity) {
      best = i;
      bestSpecificity = s;
    }
  });
  return best;
}

/** The `accept` attribute for a file input: the route's patterns, or `undefined` if it takes anything. */
export function acceptOf(route: Pick<RouteRules, "types">): string | undefined {
  const patterns = route.types.map(patternOf);
  if (patterns.some((p) => specificity(p) === 0)) return undefined;
  return [...new Set(patterns)].join(",");
}

// Files are named by their index, as the server names them: a refusal never repeats a name or
// type that was sent.
function unsupported(route: RouteRules, fileIndex: number): UploadError {
  const accepted = route.types.map(patternOf);
  return new UploadError(
    "UNSUPPORTED_TYPE",
    `the type of file ${fileIndex} is not accepted by this route (accepted: ${accepted.join(", ")})`,
    { data: { index: fileIndex, accepted }, fileIndex },
  );
}

/**
 * Checks the declared files against the route as the server's prepare step would, and throws
 * the `UploadError` the server would answer with: `UNSUPPORTED_TYPE`, `TOO_LARGE`,
 * `TOO_MANY_FILES` or `TOO_FEW_FILES`. Per-file refusals carry `fileIndex`.
 */
export function checkFiles(route: RouteRules, files: readonly FileDeclaration[]): void {
  const rules: number[] = [];
  files.forEach((f, i) => {
    const type = normalizeMime(f.type);
    if (type === undefined) {
      throw new UploadError("UNSUPPORTED_TYPE", `the type of file ${i} is not a MIME type`, {
        data: { index: i },
        fileIndex: i,
      });
    }
    const r = ruleFor(route, type);
    if (r === undefined) throw unsupported(route, i);
    const rule = route.types[r]!;
    if (f.size > rule.maxFileSize) {
      throw new UploadError(
        "TOO_LARGE",
        `file ${i} is ${f.size} bytes; ${rule.type} files may be at most ${rule.maxFileSize} bytes`,
        { data: { index: i, size: f.size, limit: rule.maxFileSize }, fileIndex: i },
      );
    }
    rules.push(r);
  });

  if (files.length === 0) {
    throw new UploadError("TOO_FEW_FILES", "no files were sent", { data: { min: 1 } });
  }
  route.types.forEach((rule, i) => {
    const n = rules.filter((r) => r === i).length;
    if (n > rule.maxFileCount) {
      throw new UploadError(
        "TOO_MANY_FILES",
        `${n} ${rule.type} files were sent; at most ${rule.maxFileCount} are allowed`,
        { data: { type: rule.type, count: n, max: rule.maxFileCount } },
      );
    }
    // A type's minimum applies when files of that type are sent (as on the server).
    if (n > 0 && n < rule.minFileCount) {
      throw new UploadError(
        "TOO_FEW_FILES",
        `${n} ${rule.type} files were sent; at least ${rule.minFileCount} are required`,
        { data: { type: rule.type, count: n, min: rule.minFileCount } },
      );
    }
  });
  const maxCount = route.maxTotalFileCount;
  if (maxCount !== null && maxCount !== undefined && files.length > maxCount) {
    throw new UploadError(
      "TOO_MANY_FILES",
      `${files.length} files were sent; this route takes at most ${maxCount} per upload`,
      { data: { count: files.length, max: maxCount } },
    );
  }
  const maxSize = route.maxTotalSize;
  if (maxSize !== null && maxSize !== undefined) {
    const total = files.reduce((sum, f) => sum + f.size, 0);
    if (total > maxSize) {
      throw new UploadError(
        "TOO_LARGE",
        `the files total ${total} bytes; this route takes at most ${maxSize} per upload`,
        { data: { size: total, limit: maxSize } },
      );
    }
  }
}
