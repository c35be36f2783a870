// The second demo page: UploadThing's own React components, unmodified, uploading to the demo
// server through Uplift's UploadThing protocol (`{base}/uploadthing`), typed by the router type
// generated from the Rust routes. Served at /uploadthing; sign in on / first.

import { StrictMode, useState } from "react";
import { createRoot } from "react-dom/client";
import { generateUploadButton, generateUploadDropzone } from "@uploadthing/react";
import type { UploadThingRouter } from "@generated/router";

import "../app.css";

const url = "/api/uploads/uploadthing";
const UploadButton = generateUploadButton<UploadThingRouter>({ url });
const UploadDropzone = generateUploadDropzone<UploadThingRouter>({ url });

/** What one component reports: progress, the server data, or the refusal. */
function useReport() {
  const [progress, setProgress] = useState<number | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  return {
    progress,
    done,
    error,
    begin: () => {
      setProgress(0);
      setDone(null);
      setError(null);
    },
    setProgress,
    setDone,
    setError,
  };
}

function Report({ id, r }: { id: string; r: ReturnType<typeof useReport> }) {
  return (
    <div className="ut-report">
      <p id={`${id}-progress`}>{r.progress === null ? "No upload yet." : `Progress: ${r.progress}%`}</p>
      {r.done !== null && (
        <p>
          Server data: <output id={`${id}-server-data`}>{r.done}</output>
        </p>
      )}
      {r.error !== null && (
        <p id={`${id}-error`} role="alert">
          Refused: {r.error}
        </p>
      )}
    </div>
  );
}

function Page() {
  const picture = useReport();
  const media = useReport();
  const [caption, setCaption] = useState("Sent with UploadThing's dropzone");
  return (
    <main>
      <h1>UploadThing's components on Uplift</h1>
      <p>
        <code>&lt;UploadButton&gt;</code> and <code>&lt;UploadDropzone&gt;</code> from the stock{" "}
        <code>@uploadthing/react</code> package, pointed at this Uplift app. Sign in on the <a href="/">main page</a>{" "}
        first: the routes' middleware wants to know who you are.
      </p>
      <section id="ut-profilePicture" aria-labelledby="ut-profilePicture-title">
        <h2 id="ut-profilePicture-title">Profile picture (waits for its server data)</h2>
        <UploadButton
          endpoint="profilePicture"
          config={{ mode: "auto" }}
          onUploadBegin={picture.begin}
          onUploadProgress={picture.setProgress}
          onClientUploadComplete={(res) => {
            // Typed from the Rust route: the completion hook's return type.
            const saved = res[0]?.serverData;
            picture.setDone(saved ? `uploaded by ${saved.uploadedBy}` : "none");
          }}
          onUploadError={(e) => picture.setError(e.message)}
        />
        <Report id="ut-profilePicture" r={picture} />
      </section>
      <section id="ut-mediaPost" aria-labelledby="ut-mediaPost-title">
        <h2 id="ut-mediaPost-title">Media post (with its input)</h2>
        <label>
          Caption <input value={caption} onChange={(e) => setCaption(e.target.value)} />
        </label>
        <UploadDropzone
          endpoint="mediaPost"
          input={{ caption }}
          onUploadBegin={media.begin}
          onUploadProgress={media.setProgress}
          onClientUploadComplete={(res) => media.setDone(`${res.length} file(s) stored`)}
          onUploadError={(e) => media.setError(e.message)}
        />
        <Report id="ut-mediaPost" r={media} />
      </section>
    </main>
  );
}

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <Page />
  </StrictMode>,
);
