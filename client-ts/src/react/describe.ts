// Words for what a route accepts, from its config: the components show them next to the
// button, and the file input's `accept` and `multiple` come from the same config.

import { acceptOf } from "../checks.js";
import type { FileTypeConfig } from "../protocol.js";
import type { RouteRules } from "../types.js";

/** `2 MB`, `256 MB`, `64 KB`, `1.5 GB`: 1024-based, as the server's size strings are. */
export function formatBytes(n: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = n;
  let i = 0;
  while (value >= 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  const shown = Number.isInteger(value) ? String(value) : value.toFixed(1).replace(/\.0$/, "");
  return `${shown} ${units[i]}`;
}

const NOUNS: Record<string, [string, string]> = {
  image: ["image", "images"],
  video: ["video", "videos"],
  audio: ["audio file", "audio files"],
  pdf: ["PDF", "PDFs"],
  text: ["text file", "text files"],
  blob: ["file", "files"],
};

function noun(rule: Pick<FileTypeConfig, "type" | "mime">, count: number): string {
  const known = NOUNS[rule.type];
  const [one, many] = known ?? [rule.mime || rule.type, `${rule.mime || rule.type} files`];
  return count === 1 ? one : many;
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/**
 * What a route accepts, in words: `Image up to 2 MB`; `Image up to 4 MB or video up to 16 MB`
 * (one file in all); `Up to 4 images of 2 MB each and 1 video up to 256 MB`; with a route-wide
 * size limit when there is one.
 */
export function describeRoute(route: RouteRules): string {
  const oneInAll = route.maxTotalFileCount === 1;
  const single = route.types.length === 1 || oneInAll;
  const parts = route.types.map((rule) => {
    const size = formatBytes(rule.maxFileSize);
    if (rule.maxFileCount > 1 && !oneInAll) return `up to ${rule.maxFileCount} ${noun(rule, 2)} of ${size} each`;
    return single ? `${noun(rule, 1)} up to ${size}` : `1 ${noun(rule, 1)} up to ${size}`;
  });
  const joiner = oneInAll ? " or " : " and ";
  let text = parts.length > 1 ? `${parts.slice(0, -1).join(", ")}${joiner}${parts[parts.length - 1]}` : (parts[0] ?? "");
  const limits: string[] = [];
  const maxCount = route.maxTotalFileCount;
  if (maxCount !== null && maxCount !== undefined && maxCount > 1) limits.push(`${maxCount} files`);
  const maxSize = route.maxTotalSize;
  if (maxSize !== null && maxSize !== undefined) limits.push(formatBytes(maxSize));
  if (limits.length) text += ` (at most ${limits.join(", ")} in all)`;
  return capitalize(text);
}

/** How many files one upload may carry: the route-wide count, else the sum of the per-type counts. */
export function maxFilesOf(route: RouteRules): number {
  const perType = route.types.reduce((n, t) => n + t.maxFileCount, 0);
  const total = route.maxTotalFileCount;
  return total === null || total === undefined ? perType : Math.min(total, perType);
}

/** The file input's attributes for a route: `accept` (omitted for routes that take anything) and `multiple`. */
export function inputAttributes(route: RouteRules | undefined): { accept?: string; multiple: boolean } {
  if (!route) return { multiple: false };
  const accept = acceptOf(route);
  // Some systems only offer a PDF in the picker when its extension is listed too.
  const withExtensions = accept?.split(",").includes("application/pdf") ? `${accept},.pdf` : accept;
  return {
    ...(withExtensions === undefined ? {} : { accept: withExtensions }),
    multiple: maxFilesOf(route) > 1,
  };
}
