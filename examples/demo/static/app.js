// The demo page's script: plain JavaScript, no dependencies.
// It reads the route config, runs the signed-URL flow (prepare → PUT → status) and shows
// what the hooks did. The HTML forms above it work without any of this.
"use strict";

const BASE = "/api/uploads";
const $ = (id) => document.getElementById(id);
let routes = [];

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
}

function bytes(n) {
  if (n == null) return "–";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${Number.isInteger(n) ? n : n.toFixed(1)} ${units[i]}`;
}

async function json(res) {
  const text = await res.text();
  try { return JSON.parse(text); } catch { return { error: { code: "NOT_JSON", message: text } }; }
}

// --- who am I ------------------------------------------------------------------------------
async function loadUser() {
  const { user } = await json(await fetch("/api/demo/me"));
  $("who").textContent = user ? `Signed in as ${user}.` : "Not signed in.";
  $("who").classList.toggle("ok", !!user);
  $("login").hidden = !!user;
  $("logout").hidden = !user;
}

// --- route config --------------------------------------------------------------------------
function describeType(t) {
  const count = t.minFileCount > 1 ? `${t.minFileCount}–${t.maxFileCount}` : `up to ${t.maxFileCount}`;
  const extra = [t.acl === "private" ? "private" : null, t.contentDisposition === "attachment" ? "attachment" : null]
    .filter(Boolean).join(", ");
  return `${t.type} (${t.mime}): ${count} × ≤ ${bytes(t.maxFileSize)}${extra ? ` · ${extra}` : ""}`;
}

async function loadRoutes() {
  ({ routes } = await json(await fetch(BASE)));
  const body = $("routes").tBodies[0];
  body.replaceChildren();
  for (const r of routes) {
    const types = el("ul");
    for (const t of r.types) types.append(el("li", {}, describeType(t)));
    const limits = [
      r.maxTotalFileCount != null ? `≤ ${r.maxTotalFileCount} file(s)` : null,
      r.maxTotalSize != null ? `≤ ${bytes(r.maxTotalSize)} total` : null,
    ].filter(Boolean).join(", ") || "–";
    body.append(el("tr", {},
      el("td", {}, el("code", {}, r.slug)),
      el("td", {}, types),
      el("td", {}, limits),
      el("td", {}, r.awaitServerData ? "awaited by the upload" : "in the background (status URL)"),
    ));
    $("up-route").append(el("option", { value: r.slug }, r.slug));
  }
  const types = (slug) => (routes.find((r) => r.slug === slug)?.types ?? []).map((t) => t.mime).join(",");
  const sync = () => {
    const slug = $("up-route").value;
    $("up-input-row").hidden = slug !== "mediaPost";
    $("up-files").accept = types(slug) === "application/pdf" ? "application/pdf,.pdf" : types(slug);
  };
  $("up-route").addEventListener("change", sync);
  sync();
}

// --- the signed-URL flow -------------------------------------------------------------------
function step(text, cls = "") {
  const li = el("li", { class: cls }, text);
  $("up-steps").append(li);
  return li;
}

function put(prepared, file, onProgress) {
  // XMLHttpRequest rather than fetch: it reports upload progress.
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(prepared.method, prepared.uploadUrl);
    for (const [k, v] of Object.entries(prepared.headers)) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    xhr.onload = () => {
      let body;
      try { body = JSON.parse(xhr.responseText); } catch { body = { error: { code: "NOT_JSON", message: xhr.responseText } }; }
      resolve({ status: xhr.status, body });
    };
    xhr.onerror = () => reject(new Error("network error"));
    xhr.send(file);
  });
}

async function poll(statusUrl) {
  // Routes without await_server_data answer before their hook has run.
  for (let i = 0; i < 20; i++) {
    const r = await json(await fetch(statusUrl));
    if (r.status === "complete" || r.status === "failed") return r;
    await new Promise((ok) => setTimeout(ok, 250 * (i + 1)));
  }
  return json(await fetch(statusUrl));
}

function showFile(result) {
  const f = result.file;
  const box = el("div", { class: "file" });
  if (f && f.type.startsWith("image/")) box.append(el("img", { src: f.url, alt: f.name }));
  const title = f ? el("a", { href: f.url, target: "_blank", rel: "noopener" }, f.name) : result.key;
  box.append(el("div", {}, title, el("span", { class: "muted" }, f ? ` · ${bytes(f.size)} · ${f.type}` : "")));
  const data = result.error ? { error: result.error } : { serverData: result.serverData };
  box.append(el("pre", {}, JSON.stringify(data, null, 2)));
  $("up-files-out").append(box);
}

async function upload(event) {
  event.preventDefault();
  const slug = $("up-route").value;
  const files = [...$("up-files").files];
  $("up-steps").replaceChildren();
  $("up-files-out").replaceChildren();
  const log = $("up-log");
  log.hidden = true;
  const fail = (what, body) => {
    step(`${what}: ${body.error?.code ?? "?"} — ${body.error?.message ?? ""}`, "bad");
    log.textContent = JSON.stringify(body, null, 2);
    log.hidden = false;
  };

  let input = null;
  if (slug === "mediaPost") {
    try { input = JSON.parse($("up-input").value); } catch (e) { step(`input is not JSON: ${e.message}`, "bad"); return; }
  }
  const declared = files.map((f) => ({ name: f.name, size: f.size, type: f.type || "application/octet-stream", lastModified: f.lastModified }));
  step(`POST ${BASE}/${slug} — ${files.length} file(s)`);
  const res = await fetch(`${BASE}/${slug}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ files: declared, input }),
  });
  const prepared = await json(res);
  if (!res.ok) return fail(`prepare refused (${res.status})`, prepared);
  step(`prepared: ${prepared.files.map((p) => p.name).join(", ")} (URLs valid until ${new Date(prepared.files[0].expiresAt).toLocaleTimeString()})`, "ok");

  // The server answers the files in the order they were announced.
  await Promise.all(prepared.files.map(async (p, i) => {
    const line = step(`PUT ${p.name}: 0%`);
    const { status, body } = await put(p, files[i], (f) => { line.textContent = `PUT ${p.name}: ${Math.round(f * 100)}%`; });
    if (status >= 400) {
      line.className = "bad";
      line.textContent = `PUT ${p.name}: ${status} ${body.error?.code} — ${body.error?.message}`;
      showFile({ key: p.key, error: body.error });
      return;
    }
    line.className = "ok";
    line.textContent = `PUT ${p.name}: ${status}, ${body.status}`;
    const result = body.status === "complete" || body.status === "failed" ? body : await poll(p.statusUrl);
    if (result !== body) step(`GET status of ${p.name}: ${result.status}`, result.status === "complete" ? "ok" : "bad");
    showFile(result);
  }));
  loadActivity();
}

// --- hook activity -------------------------------------------------------------------------
// Only the signed-in user's own uploads; signed out, the server answers 401.
async function loadActivity() {
  const res = await fetch("/api/demo/activity");
  const list = $("activity");
  list.replaceChildren();
  if (res.status === 401) {
    list.append(el("li", { class: "muted" }, "Sign in to see what the hooks did with your uploads."));
    return;
  }
  const { events = [] } = await json(res);
  if (!events.length) list.append(el("li", { class: "muted" }, "Nothing yet."));
  for (const e of events) {
    list.append(el("li", { class: e.outcome === "error" ? "bad" : "" },
      el("time", {}, new Date(e.at).toLocaleTimeString()), " ",
      el("code", {}, e.route), " ", e.user ? `${e.user}: ` : "", e.summary));
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("uploader").addEventListener("submit", (e) => upload(e).catch((err) => step(String(err), "bad")));
  $("activity-refresh").addEventListener("click", loadActivity);
  document.querySelector("iframe[name=form-result]").addEventListener("load", loadActivity);
  loadUser();
  loadRoutes();
  loadActivity();
});
