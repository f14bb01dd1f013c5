export { SafeHtml, escapeHtml, html, type HtmlValue } from '../../html.ts';
import { SafeHtml, html } from '../../html.ts';

/**
 * Scripts only from our own files (no inline script can run, so an injection that slipped through escaping
 * stays inert), forms only to ourselves, and no framing (clickjacking of the login form).
 */
export const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export const LOGIN_SCRIPT_PATH = '/auth/assets/login.js';

const STYLE = `
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2433;background:#f2f5fa}
main{max-width:28rem;margin:8vh auto;padding:2rem;background:#fff;border-radius:12px;box-shadow:0 2px 12px rgba(20,40,80,.12)}
main.wide{max-width:48rem}
h1{font-size:1.5rem;margin:0 0 .25rem}
.domain{color:#5d6b82;margin:0 0 1.5rem}
label{display:block;margin:1rem 0 .25rem;font-weight:600}
input[type=password],input[type=text]{width:100%;padding:.65rem .75rem;font-size:1rem;border:1px solid #b7c2d6;border-radius:8px}
.check{display:flex;gap:.5rem;align-items:center;margin:1rem 0;font-weight:400}
button{font-size:1rem;padding:.65rem 1.25rem;border:0;border-radius:8px;background:#297ef2;color:#fff;cursor:pointer}
button.secondary{background:#e3e9f3;color:#1d2433}
button:disabled{opacity:.5;cursor:default}
form.inline{display:inline-block;margin:0 .5rem 0 0}
.error{color:#b3261e;background:#fdecea;border-radius:8px;padding:.5rem .75rem;margin:1rem 0 0}
.help{color:#5d6b82;font-size:.9rem}
table{width:100%;border-collapse:collapse;margin:.5rem 0 1.5rem;font-size:.9rem}
th,td{text-align:left;padding:.4rem .5rem;border-bottom:1px solid #e3e9f3;vertical-align:top}
td.when{white-space:nowrap}
.current{font-weight:600;color:#297ef2}
`;

/** The shared page shell. */
export function layout(opts: { title: string; locale: string; body: SafeHtml; wide?: boolean; script?: boolean }): string {
  return html`<!DOCTYPE html>
<html lang="${opts.locale}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${opts.title}</title>
<style>${new SafeHtml(STYLE)}</style>
</head>
<body>
<main${opts.wide ? new SafeHtml(' class="wide"') : ''}>
${opts.body}
</main>
${opts.script ? html`<script src="${LOGIN_SCRIPT_PATH}"></script>` : ''}
</body>
</html>
`.value;
}
