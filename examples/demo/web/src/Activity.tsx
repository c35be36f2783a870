import { useCallback, useEffect, useState } from "react";

import { actAsHeaders } from "./uplift";

interface ActivityEvent {
  at: string | number;
  route: string;
  user: string | null;
  outcome: string;
  summary: string;
}

/**
 * What the completion and error hooks did with the signed-in user's uploads, from
 * `GET /api/demo/activity` (nobody else's: signed out, the server answers 401).
 */
export function Activity() {
  const [events, setEvents] = useState<ActivityEvent[] | "signed-out" | null>(null);

  const load = useCallback(() => {
    fetch("/api/demo/activity", { headers: actAsHeaders() })
      .then(async (r) => {
        if (r.status === 401) return "signed-out" as const;
        if (!r.ok) return [];
        return ((await r.json()) as { events: ActivityEvent[] }).events;
      })
      .then(setEvents)
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
        Your hook activity <small>from <code>GET /api/demo/activity</code></small>{" "}
        <button type="button" className="link" onClick={load}>
          Refresh
        </button>
      </h2>
      <ul className="activity">
        {events === null ? (
          <li className="muted">Loading…</li>
        ) : events === "signed-out" ? (
          <li className="muted">Sign in to see what the hooks did with your uploads.</li>
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
