import { html, layout } from './layout.ts';

export interface OnboardingPageData {
  domain: string;
  locale: string;
  salt: string;
  iterations: number;
  registerToken: string;
}

/**
 * The "choose your password" page of a new instance (cozy-stack's passphrase_choose.html). The register token
 * is the credential here, so there is no CSRF token: a forged post would need the token.
 */
export function onboardingPage(d: OnboardingPageData): string {
  const body = html`<h1>Choose your password</h1>
<p class="domain">${d.domain}</p>
<form id="onboarding-form" method="POST" action="/auth/onboarding/passphrase" data-salt="${d.salt}" data-iterations="${d.iterations}">
<input id="register-token" type="hidden" name="register_token" value="${d.registerToken}" />
<input id="iterations" type="hidden" name="iterations" value="${d.iterations}" />
<input id="passphrase" type="hidden" name="passphrase" value="" />
<label for="password">Password</label>
<input id="password" type="password" autocomplete="new-password" spellcheck="false" autofocus required minlength="8" />
<label for="password-confirm">Confirm the password</label>
<input id="password-confirm" type="password" autocomplete="new-password" spellcheck="false" required />
<label for="hint">Leave a hint (optional)</label>
<input id="hint" type="text" name="hint" maxlength="1000" />
<p class="help">The hint must not give the password away.</p>
<div id="form-error" class="error" role="alert" hidden></div>
<noscript><p class="error">This page needs JavaScript: your password is hashed in the browser before it is sent.</p></noscript>
<p><button id="onboarding-submit" type="submit" disabled>Set my password</button></p>
</form>`;
  return layout({ title: `Welcome · ${d.domain}`, locale: d.locale, body, script: true });
}
