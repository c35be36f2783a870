import { useState } from "react";

import type { ServerDataOf, UploadedFile } from "@uplift/client";
import type { UploadRouter } from "@generated/router";
import { FileCard, RouteCard, ServerData } from "../ui";
import { activityChanged, UploadButton } from "../uplift";

type Saved = UploadedFile<ServerDataOf<UploadRouter, "profilePicture">>;

/** One image of at most 2 MB; the upload resolves with the hook's `{ url, uploadedBy }`. */
export function ProfilePicture() {
  const [saved, setSaved] = useState<Saved | null>(null);
  return (
    <RouteCard
      slug="profilePicture"
      title="awaits its server data"
      note={
        <>
          A button. The upload resolves only once the completion hook has answered with{" "}
          <code>{"{ url, uploadedBy }"}</code>. Try an image over 2 MB: it is refused before a byte is sent.
        </>
      }
    >
      <UploadButton
        slug="profilePicture"
        onComplete={([file]) => {
          setSaved(file ?? null);
          activityChanged();
        }}
        onError={activityChanged}
      />
      {saved ? (
        <FileCard
          file={saved}
          serverData={
            <>
              <p className="ok">New profile picture of {saved.serverData.uploadedBy}.</p>
              <ServerData data={saved.serverData} />
            </>
          }
        />
      ) : null}
    </RouteCard>
  );
}
