import { defineError } from '../errors.ts';
import { normalizeDomain } from '../instances/domain.ts';

const badRedirect = defineError('COZY_ERR_BAD_REDIRECT', 400, 'bad url');

/** Where the instance is reached: its domain (port included) and the scheme the request came in with. */
export interface InstanceOrigin {
  domain: string;
  scheme: 'http' | 'https';
}

// An app slug is one DNS label: an app lives at <slug>.<instance domain>, as cozy-stack's nested subdomains.
const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** An absolute URL on the instance itself (Location headers and redirect defaults). */
export function instanceUrl(origin: InstanceOrigin, path = '/', query?: Record<string, string>): URL {
  const u = new URL(path, `${origin.scheme}://${origin.domain}`);
  if (query) for (const [k, v] of Object.entries(query)) u.searchParams.set(k, v);
  return u;
}

/**
 * Where to send the browser after logging in when nothing was asked for. There is no home app yet, so this
 * is the kernel's own page at `/`; it goes through the same rule as any redirect (hence the `#=`).
 */
export function defaultRedirect(origin: InstanceOrigin): URL {
  return checkRedirect(origin, instanceUrl(origin, '/').href);
}

/**
 * Validates a `redirect` parameter as cozy-stack's checkRedirectParam: an absolute http(s) URL (here with the
 * scheme the request came in with, so a login over TLS never sends the browser to plain HTTP) to the instance
 * itself or to one of its app subdomains. Anything else is a 400, so the login page cannot be turned into an
 * open redirect. URLs are parsed as browsers parse them (WHATWG), so `//evil.com`, `https:evil.com` or
 * `https://evil.com\@alice` mean here what they would mean in the browser that follows the redirect.
 *
 * The fragment of a redirect to the instance itself is replaced by an empty one (`#=`): browsers carry a
 * fragment over a redirect that has none, which would let a crafted login link steal an OAuth code from
 * /auth/authorize. App subdomains keep theirs (apps route with it).
 */
export function checkRedirect(origin: InstanceOrigin, raw: string): URL {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw badRedirect('bad url: could not parse');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw badRedirect('bad url: bad scheme');
  if (u.protocol !== `${origin.scheme}:`) throw badRedirect('bad url: bad scheme');
  // user:pass@ before the host only serves to make a link look like it goes somewhere else.
  if (u.username || u.password) throw badRedirect('bad url: could not parse');
  let host: string;
  try {
    host = normalizeDomain(u.host);
  } catch {
    throw badRedirect('bad url: could not parse');
  }
  if (host === origin.domain) {
    u.hash = '=';
    return u;
  }
  const suffix = `.${origin.domain}`;
  if (host.endsWith(suffix) && SLUG.test(host.slice(0, -suffix.length))) return u;
  throw badRedirect('bad url: should be subdomain');
}
