import { useState } from "react";

import type { ServerDataOf, UploadedFile } from "@uplift/client";
import type { UploadRouter } from "@generated/router";
import { FileCard, RouteCard, ServerData } from "../ui";
import { activityChanged, UploadButton } from "../uplift";

type Reviewed = UploadedFile<ServerDataOf<UploadRouter, "documentReview">>;

/** A private PDF; the upload waits for the review ticket (or the hook's refusal). */
export function DocumentReview() {
  const [doc, setDoc] = useState<Reviewed | null>(null);
  return (
    <RouteCard
      slug="documentReview"
      title="private, awaited, with an error hook"
      note={
        <>
          One PDF up to 8 MB, stored privately. The upload waits for a review ticket; an encrypted PDF is refused by
          the hook (<code>COMPLETION_FAILED</code>) and reaches <code>on_upload_error</code>.
        </>
      }
    >
      <UploadButton
        slug="documentReview"
        onUploadBegin={() => setDoc(null)}
        onComplete={([file]) => {
          setDoc(file ?? null);
          activityChanged();
        }}
        onError={activityChanged}
      />
      {doc ? (
        <FileCard
          file={doc}
          serverData={
            <>
              <p className="ok">
                Review <code>{doc.serverData.reviewId}</code> opened (ticket #{doc.serverData.ticketNumber},{" "}
                {doc.serverData.pagesEstimate} pages).
              </p>
              <ServerData data={doc.serverData} />
            </>
          }
        />
      ) : null}
    </RouteCard>
  );
}
