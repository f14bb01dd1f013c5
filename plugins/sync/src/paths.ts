import { isValidCollectionName, isValidMemberName, type HomeKind } from './layout.ts';
import { SyncErrors } from './sync-errors.ts';

export const BASE = '/sync';

/** What a URL under /sync names. */
export type Target =
  | { type: 'root' }
  | { type: 'principal' }
  | { type: 'home'; kind: HomeKind }
  | { type: 'collection'; kind: HomeKind; name: string }
  | { type: 'member'; kind: HomeKind; collection: string; name: string };

const HOMES: Record<string, HomeKind> = { calendars: 'calendars', contacts: 'contacts' };

/** Parses a path (or a full URL, as hrefs in multiget may be) under /sync; null for anything else. */
export function parseTarget(urlOrPath: string): Target | null {
  let path = urlOrPath;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(path)) {
    try {
      path = new URL(path).pathname;
    } catch {
      return null;
    }
  }
  path = path.split('?')[0] ?? '';
  if (path !== BASE && !path.startsWith(`${BASE}/`)) return null;
  let segments: string[];
  try {
    segments = path.slice(BASE.length).split('/').filter((s) => s !== '').map((s) => decodeURIComponent(s));
  } catch {
    throw SyncErrors.badRequest('Malformed percent-encoding in the URL');
  }
  if (segments.length === 0) return { type: 'root' };
  const [first, coll, name, ...rest] = segments as [string, string | undefined, string | undefined, ...string[]];
  if (first === 'principal' && segments.length === 1) return { type: 'principal' };
  const kind = HOMES[first];
  if (!kind || rest.length > 0) return null;
  if (coll === undefined) return { type: 'home', kind };
  if (!isValidCollectionName(coll)) return null;
  if (name === undefined) return { type: 'collection', kind, name: coll };
  if (!isValidMemberName(name)) return null;
  return { type: 'member', kind, collection: coll, name };
}

/** Like Python's quote with `@` and `:` kept: what Radicale writes, so hrefs compare equal in clients. */
export function quote(segment: string): string {
  return encodeURIComponent(segment).replace(/%40/g, '@').replace(/%3A/g, ':');
}

export function hrefOf(t: Target): string {
  switch (t.type) {
    case 'root':
      return `${BASE}/`;
    case 'principal':
      return `${BASE}/principal/`;
    case 'home':
      return `${BASE}/${t.kind}/`;
    case 'collection':
      return `${BASE}/${t.kind}/${quote(t.name)}/`;
    case 'member':
      return `${BASE}/${t.kind}/${quote(t.collection)}/${quote(t.name)}`;
  }
}
