import { html, layout } from './layout.ts';

export interface LoginPageData {
  domain: string;
  locale: string;
  publicName?: string;
  /** The PBKDF2 salt the browser hashes with: "me@" + domain without port. */
  salt: string;
  iterations: number;
  csrfToken: string;
  /** Already validated and normalised (see auth/redirects.ts); empty when none was asked for. */
  redirect: string;
  error?: string;
}

/** The passphrase form (cozy-stack's login.html, same field names and ids). */
export function loginPage(d: LoginPageData): string {
  const title = d.publicName ? d.publicName : 'Welcome!';
  const body = html`<h1>${title}</h1>
<p class="domain">${d.domain}</p>
<form id="login-form" method="POST" action="/auth/login" data-salt="${d.salt}" data-iterations="${d.iterations}">
<input id="redirect" type="hidden" name="redirect" value="${d.redirect}" />
<input id="csrf_token" type="hidden" name="csrf_token" value="${d.csrfToken}" />
<input id="passphrase" type="hidden" name="passphrase" value="" />
<label for="password">Password</label>
<input id="password" type="password" autocomplete="current-password" spellcheck="false" autofocus required />
<label class="check"><input id="long-run-session" type="checkbox" name="long-run-session" value="1" checked /> Remember me on this device</label>
<div id="form-error" class="error" role="alert"${d.error ? '' : html` hidden`}>${d.error ?? ''}</div>
<noscript><p class="error">This page needs JavaScript: your password is hashed in the browser before it is sent.</p></noscript>
<p><button id="login-submit" type="submit" disabled>Log in</button></p>
</form>`;
  return layout({ title: `Log in · ${d.domain}`, locale: d.locale, body, script: true });
}
