import { html, layout } from './layout.ts';

/** Shown instead of the login form while the owner has not chosen a password (cozy-stack's need_onboarding.html). */
export function needOnboardingPage(d: { domain: string; locale: string }): string {
  const body = html`<h1>You need to activate your Cozy</h1>
<p class="domain">${d.domain}</p>
<p>Your Cozy has not been yet activated. Open the activation link you were given to choose your password.</p>`;
  return layout({ title: `Activation · ${d.domain}`, locale: d.locale, body });
}
