import { DavErrors } from './errors.ts';

/** Request headers as Node gives them: lower-case names, repeated ones as arrays. */
export type HeaderMap = Record<string, string | string[] | undefined>;

/** A header's value, a repeated header's values joined as HTTP folds them. */
export function headerValue(headers: HeaderMap, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

/** Whether `url` names the server the client reached at `origin`. */
export function sameServer(url: URL, origin: string): boolean {
  const here = new URL(origin);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  if (url.hostname.toLowerCase() !== here.hostname.toLowerCase()) return false;
  // Ports are compared only when both are explicit: a default port depends on the scheme, which may differ.
  return !url.port || !here.port || url.port === here.port;
}

/**
 * The Destination of a COPY or MOVE, resolved against `origin` (`scheme://host[:port]` the client used): 400 when
 * missing or malformed, 502 when it names another server. Which paths it may name is the caller's rule.
 */
export function destinationUrl(headers: HeaderMap, origin: string): URL {
  const raw = headerValue(headers, 'destination');
  if (!raw) throw DavErrors.badDestination('A Destination header is required');
  let url: URL;
  try {
    url = new URL(raw, origin);
  } catch {
    throw DavErrors.badDestination();
  }
  if (!sameServer(url, origin)) throw DavErrors.foreignDestination();
  return url;
}

/** `X-OC-Mtime`: Unix seconds (Nextcloud clients, rclone's vendor nextcloud/owncloud); undefined when not sane. */
export function ocMtime(headers: HeaderMap): Date | undefined {
  const v = headerValue(headers, 'x-oc-mtime');
  if (!v || !/^\d{1,12}(\.\d+)?$/.test(v.trim())) return undefined;
  const d = new Date(Number(v.trim()) * 1000);
  return Number.isNaN(d.getTime()) ? undefined : d;
}
