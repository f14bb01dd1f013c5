import { html, layout } from './layout.ts';

export interface HomeSession {
  id: string;
  createdAt: string;
  lastSeen: string;
  longRun: boolean;
}

export interface HomeLogin {
  ip: string;
  userAgent: string;
  createdAt: string;
}

export interface HomePageData {
  domain: string;
  locale: string;
  publicName?: string;
  csrfToken: string;
  currentSessionId: string;
  sessions: HomeSession[];
  logins: HomeLogin[];
}

/** "2026-07-02T10:31:12.345Z" → "2026-07-02 10:31 UTC": readable without a script to localise it. */
function when(iso: string): string {
  return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(iso) ? `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC` : iso;
}

/** The kernel's own landing page until a home app exists: who is logged in, from where, and the way out. */
export function homePage(d: HomePageData): string {
  const others = d.sessions.filter((s) => s.id !== d.currentSessionId).length;
  const body = html`<h1>${d.publicName || d.domain}</h1>
<p class="domain">${d.domain}</p>
<p id="logged-in">You are logged in.</p>
<form class="inline" method="POST" action="/auth/logout">
<input type="hidden" name="csrf_token" value="${d.csrfToken}" />
<button id="logout" type="submit">Log out</button>
</form>
<form class="inline" method="POST" action="/auth/login/others">
<input type="hidden" name="csrf_token" value="${d.csrfToken}" />
<button id="logout-others" class="secondary" type="submit"${others === 0 ? html` disabled` : ''}>Log out other sessions (${others})</button>
</form>
<h2>Open sessions</h2>
<table id="sessions">
<thead><tr><th>Opened</th><th>Last seen</th><th></th></tr></thead>
<tbody>
${d.sessions.map(
  (s) => html`<tr${s.id === d.currentSessionId ? html` class="current"` : ''}><td class="when">${when(s.createdAt)}</td><td class="when">${when(s.lastSeen)}</td><td>${[
    s.id === d.currentSessionId ? 'this browser' : '',
    s.longRun ? 'remembered' : '',
  ].filter(Boolean).join(', ')}</td></tr>
`,
)}</tbody>
</table>
<h2>Login history</h2>
<table id="logins">
<thead><tr><th>Date</th><th>IP address</th><th>Browser</th></tr></thead>
<tbody>
${d.logins.map((l) => html`<tr><td class="when">${when(l.createdAt)}</td><td>${l.ip}</td><td>${l.userAgent}</td></tr>
`)}</tbody>
</table>`;
  return layout({ title: d.publicName || d.domain, locale: d.locale, body, wide: true });
}
