import { useEffect, useState } from "react";

import { formatBytes } from "./client";
import { useFiles } from "./uplift";

/**
 * The signed-in user's uploads, from `GET /api/uploads/files` (`up.files` through the
 * `useFiles` hook): newest first, a page at a time, each renamed, made public or private, or
 * deleted in place. Nobody else's files: the server lists only the caller's.
 */
export function MyFiles() {
  const files = useFiles({ limit: 10 });
  const [editing, setEditing] = useState<string | null>(null);
  const [name, setName] = useState("");

  useEffect(() => {
    // After an upload on this page, the list starts over.
    const again = () => void files.refresh();
    window.addEventListener("uplift-demo:activity", again);
    return () => window.removeEventListener("uplift-demo:activity", again);
  }, [files.refresh]);

  const signedOut = files.error?.code === "UNAUTHORIZED";
  return (
    <section aria-labelledby="my-files-title" className="my-files">
      <h2 id="my-files-title">
        My files <small>from <code>GET /api/uploads/files</code></small>{" "}
        <button type="button" className="link" onClick={() => void files.refresh()}>
          Reload list
        </button>
      </h2>
      {signedOut ? (
        <p className="muted">Sign in to manage your files.</p>
      ) : files.error ? (
        <p className="bad files-error">
          {files.error.code}: {files.error.message}
        </p>
      ) : null}
      {!signedOut && files.files.length === 0 && !files.loading ? <p className="muted">No files yet.</p> : null}
      <ul className="files">
        {files.files.map((f) => (
          <li key={f.key} data-key={f.key}>
            {editing === f.key ? (
              <form
                onSubmit={(e) => {
                  e.preventDefault();
                  void files.rename(f.key, name).then(() => setEditing(null));
                }}
              >
                <input aria-label={`New name for ${f.name}`} value={name} onChange={(e) => setName(e.target.value)} />
                <button type="submit">Save</button>
              </form>
            ) : f.file ? (
              <a className="file-name" href={f.file.url} target="_blank" rel="noreferrer">
                {f.name}
              </a>
            ) : (
              <span className="file-name">{f.name}</span>
            )}{" "}
            <span className="muted">
              · <code>{f.slug}</code> · {formatBytes(f.size)} · {f.status} · {f.acl}
            </span>{" "}
            <button
              type="button"
              className="link"
              onClick={() => {
                setEditing(f.key);
                setName(f.name);
              }}
            >
              Rename
            </button>{" "}
            <button
              type="button"
              className="link"
              onClick={() => void files.setAcl(f.key, f.acl === "private" ? "public-read" : "private")}
            >
              {f.acl === "private" ? "Make public" : "Make private"}
            </button>{" "}
            <button type="button" className="link" onClick={() => void files.remove(f.key)}>
              Delete {f.name}
            </button>
          </li>
        ))}
      </ul>
      {files.hasMore ? (
        <button type="button" onClick={() => void files.loadMore()} disabled={files.loading}>
          More
        </button>
      ) : null}
    </section>
  );
}
