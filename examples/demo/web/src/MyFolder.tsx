import { useCallback, useEffect, useState } from "react";

import { deleteObject, formatBytes, listObjects, uploadWithToken, type FileObject, type UploadToken } from "./client";
import { actAsHeaders } from "./uplift";

const BASE = "/api/uploads";

type State = { token: UploadToken; objects: FileObject[] } | "signed-out" | { error: string } | null;

/**
 * The signed-in user's folder of signed-upload objects, `users/{name}`: a token from
 * `POST /api/demo/token` that may list and delete there, then `GET /api/uploads/objects?dir=…`
 * to browse it, a token upload to add a file, and a token `DELETE` per object.
 */
export function MyFolder() {
  const [state, setState] = useState<State>(null);

  const load = useCallback(async () => {
    try {
      const res = await fetch("/api/demo/token", {
        method: "POST",
        headers: { ...actAsHeaders(), "content-type": "application/json" },
        body: JSON.stringify({ allowList: true, allowDelete: true }),
      });
      if (res.status === 401) return setState("signed-out");
      if (!res.ok) return setState({ error: `the token endpoint answered ${res.status}` });
      const token = (await res.json()) as UploadToken;
      const page = await listObjects(BASE, token, token.dir, { limit: 100 });
      setState({ token, objects: page.objects });
    } catch (e) {
      setState({ error: String(e) });
    }
  }, []);

  useEffect(() => {
    void load();
    const again = () => void load();
    window.addEventListener("uplift-demo:activity", again);
    return () => window.removeEventListener("uplift-demo:activity", again);
  }, [load]);

  const folder = state && typeof state === "object" && "token" in state ? state : null;
  return (
    <section aria-labelledby="my-folder-title" className="my-folder">
      <h2 id="my-folder-title">
        My folder <small>signed objects in <code>{folder ? folder.token.dir : "users/…"}</code></small>{" "}
        <button type="button" className="link" onClick={() => void load()}>
          Reload folder
        </button>
      </h2>
      {state === "signed-out" ? <p className="muted">Sign in to browse your folder.</p> : null}
      {state && typeof state === "object" && "error" in state ? <p className="bad">{state.error}</p> : null}
      {folder ? (
        <>
          <label className="row">
            Add a file to your folder{" "}
            <input
              type="file"
              onChange={(e) => {
                const file = e.target.files?.[0];
                if (file) void uploadWithToken(BASE, folder.token, file).then(load, (err) => setState({ error: String(err) }));
              }}
            />
          </label>
          {folder.objects.length === 0 ? <p className="muted">Your folder is empty.</p> : null}
          <ul className="objects">
            {folder.objects.map((o) => {
              const path = `${o.folder}/${o.filename}`;
              return (
                <li key={path} data-path={path}>
                  <a href={o.url} target="_blank" rel="noreferrer">
                    {path}
                  </a>{" "}
                  <span className="muted">
                    · {formatBytes(o.filesize)} · {o.type}
                  </span>{" "}
                  <button
                    type="button"
                    className="link"
                    onClick={() => void deleteObject({ base: BASE, token: folder.token, path }).then(load, (err) => setState({ error: String(err) }))}
                  >
                    Delete {o.filename}
                  </button>
                </li>
              );
            })}
          </ul>
        </>
      ) : null}
    </section>
  );
}
