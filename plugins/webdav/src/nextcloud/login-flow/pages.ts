import { createHash } from 'node:crypto';
import { CSRF_FIELD, escapeHtml } from '@cozy-ts/kernel';

const STYLE = `*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2433;background:#f2f5fa}
main{max-width:30rem;margin:8vh auto;padding:2rem;background:#fff;border-radius:12px;box-shadow:0 2px 12px rgba(20,40,80,.12)}
h1{font-size:1.4rem;margin:0 0 .5rem}
.client{font-weight:600;word-break:break-word}
.domain{color:#5d6b82;margin:0 0 1.5rem}
.help{color:#5d6b82;font-size:.9rem}
.actions{display:flex;gap:.75rem;margin-top:1.5rem}
button,a.button{font-size:1rem;padding:.65rem 1.25rem;border:0;border-radius:8px;background:#297ef2;color:#fff;cursor:pointer;text-decoration:none}
button.secondary{background:#e3e9f3;color:#1d2433}`;
const STYLE_HASH = createHash('sha256').update(STYLE).digest('base64');

/**
 * No script at all; the one style block is allowed by its hash; forms post only to ourselves (and, for flow v1,
 * the `nc:` address the grant redirects to, which browsers check form-action against); no framing.
 */
function csp(allowNc: boolean): string {
  return `default-src 'none'; style-src 'sha256-${STYLE_HASH}'; form-action 'self'${allowNc ? ' nc:' : ''}; frame-ancestors 'none'; base-uri 'none'`;
}

export interface Page {
  status: number;
  headers: Record<string, string>;
  body: string;
}

function page(status: number, title: string, body: string, allowNc = false): Page {
  const html = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
  return {
    status,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': csp(allowNc),
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      // The address carries the login token: it must not leave in a Referer.
      'referrer-policy': 'no-referrer',
      vary: 'Cookie',
    },
    body: html,
  };
}

export interface FlowPageInfo {
  client: string;
  /** The instance's public name, or its domain. */
  instanceName: string;
  domain: string;
}

function heading(info: FlowPageInfo, title: string): string {
  return `<h1>${escapeHtml(title)}</h1>
<p class="domain">${escapeHtml(info.instanceName)} · ${escapeHtml(info.domain)}</p>`;
}

const WARNING = 'Only go on if you started this yourself: whoever runs this client will be able to read, change and delete all your files.';

/** Before logging in: which client asks, and the way to the instance's login. */
export function pickerPage(info: FlowPageInfo, loginUrl: string): Page {
  return page(200, 'Connect to your Cozy', `${heading(info, 'Connect to your Cozy')}
<p>You are about to give <span class="client">${escapeHtml(info.client)}</span> access to your files.</p>
<p class="help">${escapeHtml(WARNING)}</p>
<div class="actions"><a class="button" href="${escapeHtml(loginUrl)}">Log in</a></div>`);
}

/** Logged in: grant or deny, a form protected by the instance's CSRF token. */
export function grantPage(info: FlowPageInfo, action: string, csrfToken: string, allowNc: boolean): Page {
  return page(200, 'Grant access', `${heading(info, 'Grant access')}
<p><span class="client">${escapeHtml(info.client)}</span> asks for access to your files.</p>
<p class="help">${escapeHtml(WARNING)} It gets a device password of its own, which you can revoke at any time.</p>
<form method="post" action="${escapeHtml(action)}">
<input type="hidden" name="${CSRF_FIELD}" value="${escapeHtml(csrfToken)}">
<div class="actions">
<button type="submit" name="action" value="grant">Grant access</button>
<button type="submit" name="action" value="deny" class="secondary">Cancel</button>
</div>
</form>`, allowNc);
}

export function donePage(info: FlowPageInfo): Page {
  return page(200, 'Account connected', `${heading(info, 'Account connected')}
<p><span class="client">${escapeHtml(info.client)}</span> is now connected. You can close this window.</p>`);
}

export function deniedPage(info: FlowPageInfo): Page {
  return page(200, 'Access denied', `${heading(info, 'Access denied')}
<p><span class="client">${escapeHtml(info.client)}</span> was not given access. You can close this window.</p>`);
}

export function errorPage(status: number, message: string): Page {
  return page(status, 'Cannot connect', `<h1>Cannot connect</h1>
<p>${escapeHtml(message)}</p>`);
}
