// The dashboard's entry: log in, connect, then the layout with one page per route.
import "./styles.css";
import { html, render, useEffect, useState } from "./lib/html.js";
import { connect, useQuery } from "./lib/client.js";
import { href, useRoute } from "./lib/router.js";
import { forgetSession, logOut, sessionFromLink, storedSession } from "./lib/session.js";
import { Empty, Page } from "./lib/ui.js";
import { Login } from "./login.js";
import { PAGES } from "./pages/index.js";

const THEME_KEY = "syncline.dashboard.theme";
const THEMES = ["auto", "light", "dark"];

function applyTheme(theme) {
  if (theme === "auto") delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = theme;
}

function ThemeToggle() {
  const [theme, setTheme] = useState(localStorage.getItem(THEME_KEY) || "auto");
  useEffect(() => {
    applyTheme(theme);
    localStorage.setItem(THEME_KEY, theme);
  }, [theme]);
  const next = THEMES[(THEMES.indexOf(theme) + 1) % THEMES.length];
  return html`<button class="button" onClick=${() => setTheme(next)} data-testid="theme-toggle"
    title="Switch between the system's theme, light and dark">Theme: ${theme}</button>`;
}

function App() {
  const route = useRoute();
  const state = useQuery("_system/frontend/deploymentState");
  const page = PAGES.find((p) => p.id === route.page);
  useEffect(() => {
    document.title = `${page ? page.title : "Not found"} · syncline`;
  }, [page]);
  const deployment = state.value;
  return html`<div class="app">
    <nav class="sidebar" aria-label="Pages">
      <div class="brand">syncline
        <span class="deployment" data-testid="deployment-name">${deployment
          ? `${deployment.instanceName} · ${deployment.dev ? "dev" : "production"}` : "\u00a0"}</span>
      </div>
      <div class="nav">
        ${PAGES.map((p) => html`<a href=${href(p.id)} class=${p.id === route.page ? "active" : ""}
          aria-current=${p.id === route.page ? "page" : undefined} data-testid=${`nav-${p.id}`}>${p.title}</a>`)}
      </div>
      <div class="sidebar-footer">
        <${ThemeToggle} />
        <button class="button" onClick=${logOut} data-testid="logout">Log out</button>
      </div>
    </nav>
    <main class="main">
      ${page ? html`<${page.component} route=${route} key=${route.page} />`
        : html`<${Page} title="Not found"><${Empty} title=${`There is no page "${route.page}"`}
            hint="Pick a page on the left." /></${Page}>`}
    </main>
  </div>`;
}

/** Whether the session still opens this deployment (a rotated admin key revokes it). */
async function sessionWorks(session) {
  const response = await fetch("/api/query", {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Convex ${session}` },
    body: JSON.stringify({ path: "_system/frontend/deploymentState", args: {}, format: "json" }),
  });
  return response.ok;
}

function Root() {
  const [session, setSession] = useState(undefined);
  const [message, setMessage] = useState(null);
  useEffect(() => {
    (async () => {
      try {
        const fromLink = await sessionFromLink();
        if (fromLink) return setSession(fromLink);
      } catch (e) {
        setMessage(`The login link did not work: ${e.message}`);
        return setSession(null);
      }
      const stored = storedSession();
      if (stored && !(await sessionWorks(stored))) {
        forgetSession();
        setMessage("Your session has ended (the admin key may have been rotated). Log in again.");
        return setSession(null);
      }
      return setSession(stored);
    })();
  }, []);
  if (session === undefined) return html`<div class="boot">Loading the dashboard…</div>`;
  if (session === null) return html`<${Login} message=${message} onSession=${setSession} />`;
  connect(session);
  return html`<${App} />`;
}

applyTheme(localStorage.getItem(THEME_KEY) || "auto");
render(html`<${Root} />`, document.getElementById("app"));
