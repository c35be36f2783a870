import { Activity } from "./Activity";
import { MyFiles } from "./MyFiles";
import { MyFolder } from "./MyFolder";
import { SignIn } from "./SignIn";
import { DocumentReview } from "./routes/DocumentReview";
import { MediaPost } from "./routes/MediaPost";
import { MessageAttachment } from "./routes/MessageAttachment";
import { ProfilePicture } from "./routes/ProfilePicture";

export function App() {
  return (
    <>
      <header className="page-head">
        <div className="wrap head">
          <div>
            <h1>Uplift demo</h1>
            <p className="lede">
              UploadThing's example router on Uplift, uploaded with the typed TypeScript client and its React
              components (<code>@uplift/client/react</code>). Files go to local disk, records to SQLite.
            </p>
          </div>
          <SignIn />
        </div>
      </header>
      <main className="wrap">
        <div className="routes">
          <ProfilePicture />
          <MessageAttachment />
          <MediaPost />
          <DocumentReview />
        </div>
        <MyFiles />
        <MyFolder />
        <Activity />
      </main>
      <footer className="wrap">
        <p>
          Without JavaScript: <a href="/plain">the plain HTML page</a> (multipart forms). Route configs:{" "}
          <a href="/api/uploads">
            <code>GET /api/uploads</code>
          </a>
          .
        </p>
      </footer>
    </>
  );
}
