import { useEffect, useId, useState } from "react";

import { setActAs } from "./uplift";

/**
 * The demo's toy auth: the sign-in form posts to `/login`, which sets a cookie and comes back
 * here; or an `x-user` header sent with every API call, as scripts do.
 */
export function SignIn() {
  const [user, setUser] = useState<string | null | undefined>(undefined);
  const [header, setHeader] = useState("");
  const headerId = useId();

  useEffect(() => {
    fetch("/api/demo/me")
      .then((r) => r.json() as Promise<{ user: string | null }>)
      .then((me) => setUser(me.user))
      .catch(() => setUser(null));
  }, []);

  const onHeader = (value: string) => {
    setHeader(value);
    setActAs(value);
  };

  return (
    <section className="signin" aria-label="Sign in">
      <p id="who" className={user || header ? "ok" : undefined} aria-live="polite">
        {header.trim()
          ? `Uploading as ${header.trim()} (x-user header).`
          : user
            ? `Signed in as ${user}.`
            : user === null
              ? "Not signed in: uploads are refused with UNAUTHORIZED."
              : "\u00a0"}
      </p>
      {user ? (
        <form method="post" action="/logout">
          <button type="submit" className="link">
            Sign out
          </button>
        </form>
      ) : (
        <form method="post" action="/login" className="row">
          <label htmlFor="signin-name" className="sr">
            Your name
          </label>
          <input
            id="signin-name"
            name="name"
            required
            maxLength={32}
            pattern="[A-Za-z0-9._\-]{1,32}"
            placeholder="your name"
            autoComplete="username"
          />
          <button type="submit">Sign in</button>
        </form>
      )}
      <details className="header-auth">
        <summary>Or send an x-user header</summary>
        <label htmlFor={headerId}>x-user</label>{" "}
        <input
          id={headerId}
          value={header}
          onChange={(e) => onHeader(e.currentTarget.value)}
          placeholder="a name"
          maxLength={32}
          autoComplete="off"
        />
      </details>
      <p className="hint">Toy auth: any name of letters, digits, '.', '_' or '-' works.</p>
    </section>
  );
}
