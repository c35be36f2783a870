import { useEffect, useId, useState } from "react";

import type { ServerDataOf, UploadedFile, UploadProgress } from "@uplift/client";
import type { UploadRouter } from "@generated/router";
import { formatBytes } from "../client";
import { FileCard, RouteCard, ServerData } from "../ui";
import { activityChanged, UploadDropzone, useServerData } from "../uplift";

type Media = UploadedFile<ServerDataOf<UploadRouter, "mediaPost">>;

/** Up to four images and a video with a typed caption; chosen first, sent with "Upload". */
export function MediaPost() {
  const captionId = useId();
  const [caption, setCaption] = useState("Sunset at the pier");
  const [progress, setProgress] = useState<UploadProgress | null>(null);
  const [media, setMedia] = useState<Media[]>([]);

  return (
    <RouteCard
      slug="mediaPost"
      title="typed input, several files"
      note={
        <>
          Manual mode: choose or drop up to four images and a video, then press Upload. The caption is the route's
          typed <code>input</code> (1–280 characters, checked by the server). The button cancels a running upload.
        </>
      }
    >
      <div className="field">
        <label htmlFor={captionId}>Caption</label>
        <input id={captionId} value={caption} maxLength={300} onChange={(e) => setCaption(e.currentTarget.value)} />
      </div>
      <UploadDropzone
        slug="mediaPost"
        mode="manual"
        input={{ caption }}
        onFilesSelected={() => setProgress(null)}
        onUploadBegin={() => setMedia([])}
        onProgress={setProgress}
        onComplete={(files) => setMedia(files)}
        onError={activityChanged}
      />
      {progress && progress.files.length > 1 ? (
        <ul className="per-file" aria-label="Progress per file">
          {progress.files.map((f) => (
            <li key={f.index}>
              <span className="name">{f.name}</span>
              <progress max={100} value={f.percentage} aria-label={`${f.name} progress`} />
              <span className="pct">
                {f.percentage}% of {formatBytes(f.total)}
              </span>
            </li>
          ))}
        </ul>
      ) : null}
      {media.map((m) => (
        <PostMedia key={m.key} file={m} />
      ))}
    </RouteCard>
  );
}

function PostMedia({ file }: { file: Media }) {
  const { data, pending, error } = useServerData("mediaPost", file);
  useEffect(() => {
    if (data) activityChanged();
  }, [data]);
  return (
    <FileCard
      file={file}
      serverData={
        <>
          {data ? (
            <p className="ok">
              {data.kind} <code>{data.mediaId ?? "?"}</code> of {data.postId} by {data.author}: “{data.caption}”
            </p>
          ) : null}
          <ServerData data={data} pending={pending} error={error} />
        </>
      }
    />
  );
}
