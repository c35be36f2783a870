import type { ReactNode } from "react";

import { formatBytes, type UploadedFile, type UploadError } from "./client";

/** One demo route: its slug, what it shows off, and its uploader. */
export function RouteCard(props: { slug: string; title: string; children: ReactNode; note: ReactNode }) {
  return (
    <section className="card route" id={`route-${props.slug}`} aria-labelledby={`route-${props.slug}-title`}>
      <h2 id={`route-${props.slug}-title`}>
        <code>{props.slug}</code> <span className="muted">{props.title}</span>
      </h2>
      <p className="note">{props.note}</p>
      {props.children}
    </section>
  );
}

/** A stored file: a preview for images, name, size and type, and the server data as it arrives. */
export function FileCard(props: { file: UploadedFile<unknown>; serverData: ReactNode }) {
  const { file } = props;
  return (
    <div className="file">
      {file.type.startsWith("image/") ? <img src={file.url} alt={file.name} /> : null}
      <div>
        <a href={file.url} target="_blank" rel="noreferrer">
          {file.name}
        </a>{" "}
        <span className="muted">
          · {formatBytes(file.size)} · {file.type}
        </span>
      </div>
      {props.serverData}
    </div>
  );
}

/** Server data as JSON, or the state of waiting for it. */
export function ServerData(props: { data: unknown; pending?: boolean; error?: UploadError | null }) {
  if (props.error) {
    return (
      <p className="bad server-data-error">
        {props.error.code}: {props.error.message}
      </p>
    );
  }
  if (props.pending) return <p className="muted server-data-pending">Waiting for the completion hook…</p>;
  return (
    <div className="server-data">
      <span className="hint">serverData</span>
      <pre>{JSON.stringify(props.data, null, 2)}</pre>
    </div>
  );
}
