import { useEffect, useState } from "react";

import type { ServerDataOf, UploadedFile } from "@uplift/client";
import type { UploadRouter } from "@generated/router";
import { FileCard, RouteCard, ServerData } from "../ui";
import { activityChanged, UploadDropzone, useServerData } from "../uplift";

type Attached = UploadedFile<ServerDataOf<UploadRouter, "messageAttachment">>;

/** An image or a video; the hook runs in the background and its answer is polled for. */
export function MessageAttachment() {
  const [file, setFile] = useState<Attached | null>(null);
  return (
    <RouteCard
      slug="messageAttachment"
      title="server data in the background"
      note={
        <>
          A dropzone (drag, paste or choose). The upload answers at once with <code>serverData: null</code>; the
          hook's <code>{"{ messageId, kind }"}</code> arrives at the status URL a moment later.
        </>
      }
    >
      <UploadDropzone
        slug="messageAttachment"
        onUploadBegin={() => setFile(null)}
        onComplete={([f]) => setFile(f ?? null)}
        onError={activityChanged}
      />
      {file ? <Attachment file={file} /> : null}
    </RouteCard>
  );
}

function Attachment({ file }: { file: Attached }) {
  const { data, pending, error } = useServerData("messageAttachment", file);
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
              {data.kind === "video" ? "Video" : "Image"} attached to message <code>{data.messageId}</code>.
            </p>
          ) : null}
          <ServerData data={data} pending={pending} error={error} />
        </>
      }
    />
  );
}
