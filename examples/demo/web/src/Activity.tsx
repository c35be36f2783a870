import { useCallback, useEffect, useState } from "react";

interface ActivityEvent {
  at: string | number;
  route: string;
  user: string | null;
  outcome: string;
  summary: string;
}

/** What the completion and error hooks did, from `GET /api/demo/activity`. */
export function Activity() {
  const [events, setEvents] = useState<ActivityEvent[] | null>(null);

  const load = useCallback(() => {
    fetch("/api/demo/activity")
      .then((r) => r.json() as Promise<{ events: ActivityEvent[] }>)
      .then((body) => setEvents(body.events))
      .catch(() => setEvents([]));
  }, []);

  useEffect(() => {
    load();
    // The server-side hooks of background routes answer a moment after the upload.
    const later = () => {
      load();
      window.setTimeout(load, 1500);
    };
    window.addEventListener("uplift-demo:activity", later);
    return () => window.removeEventListener("uplift-demo:activity", later);
  }, [load]);

  return (
    <section aria-labelledby="activity-title">
      <h2 id="activity-title">
        Hook activity <small>from <code>GET /api/demo/activity</code></small>{" "}
        <button type="button" className="link" onClick={load}>
          Refresh
        </button>
      </h2>
      <ul className="activity">
        {events === null ? (
          <li className="muted">Loading…</li>
        ) : events.length === 0 ? (
          <li className="muted">Nothing yet.</li>
        ) : (
          events.map((e, i) => (
            <li key={i} className={e.outcome === "error" ? "bad" : undefined}>
              <time>{new Date(e.at).toLocaleTimeString()}</time> <code>{e.route}</code> {e.user ? `${e.user}: ` : ""}
              {e.summary}
            </li>
          ))
        )}
      </ul>
    </section>
  );
}
