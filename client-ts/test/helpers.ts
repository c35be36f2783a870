// Files whose first bytes are what the server's sniffer expects, in any size, and a fetch that
// records what the client sent.

import { createHash } from "node:crypto";
import { inject } from "vitest";

export const origin = (): string => inject("origin");
export const base = (): string => `${inject("origin")}/api/uploads`;

const PNG_1x1 = Buffer.from(
  "89504e470d0a1a0a0000000d4948445200000001000000010806000000" +
    "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082",
  "hex",
);

/** Deterministic filler bytes. */
function filler(n: number, seed = 1): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(new ArrayBuffer(n));
  let x = seed * 2654435761;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

function padded(head: Uint8Array, size: number, seed: number): Uint8Array<ArrayBuffer> {
  const out = filler(Math.max(size, head.length), seed);
  out.set(head, 0);
  return out;
}

/** A PNG (a real 1×1 image, then filler) of `size` bytes. */
export function png(name: string, size = 2048, seed = 1): File {
  return new File([padded(PNG_1x1, size, seed)], name, { type: "image/png" });
}

/** A JPEG's first bytes, then filler. */
export function jpeg(name: string, size = 2048, seed = 2): File {
  const head = Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01]);
  return new File([padded(head, size, seed)], name, { type: "image/jpeg" });
}

/** An MP4 (`ftyp isom`) of `size` bytes. */
export function mp4(name: string, size = 64 * 1024, seed = 3): File {
  const head = Uint8Array.from([0, 0, 0, 0x18, ...Buffer.from("ftypisom"), 0, 0, 2, 0, ...Buffer.from("isomiso2")]);
  return new File([padded(head, size, seed)], name, { type: "video/mp4" });
}

/** An uncompressed PDF with `pages` page objects. */
export function pdf(name: string, pages: number): File {
  const kids = Array.from({ length: pages }, (_, i) => `${i + 3} 0 R`).join(" ");
  let body = `%PDF-1.4\n1 0 obj<</Type /Catalog /Pages 2 0 R>>endobj\n2 0 obj<</Type /Pages /Kids [${kids}] /Count ${pages}>>endobj\n`;
  for (let i = 0; i < pages; i++) body += `${i + 3} 0 obj<</Type /Page /Parent 2 0 R>>endobj\n`;
  body += "%%EOF\n";
  return new File([body], name, { type: "application/pdf" });
}

export async function sha256(file: Blob): Promise<string> {
  return createHash("sha256")
    .update(Buffer.from(await file.arrayBuffer()))
    .digest("hex");
}

export interface Sent {
  method: string;
  url: string;
}

/** The global fetch, recording each request's method and URL, and the most PUTs in flight at once. */
export function recordingFetch() {
  const sent: Sent[] = [];
  let inFlightPuts = 0;
  let maxPuts = 0;
  const fetchFn = async (input: string, init?: RequestInit): Promise<Response> => {
    const method = init?.method ?? "GET";
    sent.push({ method, url: input });
    if (method !== "PUT") return fetch(input, init);
    inFlightPuts++;
    maxPuts = Math.max(maxPuts, inFlightPuts);
    try {
      return await fetch(input, init);
    } finally {
      inFlightPuts--;
    }
  };
  return {
    fetch: fetchFn,
    sent,
    count: (method: string, path?: string) =>
      sent.filter((s) => s.method === method && (path === undefined || new URL(s.url).pathname.includes(path))).length,
    maxConcurrentPuts: () => maxPuts,
  };
}

/** The status of an upload, as `GET {base}/files/{key}` tells it. */
export async function statusOf(key: string): Promise<{ status: string; error: { code: string } | null }> {
  const res = await fetch(`${base()}/files/${key}`);
  return (await res.json()) as { status: string; error: { code: string } | null };
}

/** Waits (bounded) until `check` is true. */
export async function eventually(check: () => Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 50));
  }
}
