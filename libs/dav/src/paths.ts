import { DavErrors } from './errors.ts';

/**
 * Resource paths inside one DAV tree are decoded, `/`-separated and never end with a slash except the root
 * (`/`, `/docs`, `/docs/été.txt`). Hrefs on the wire are built from them by `hrefFor`.
 */
export function parentPath(path: string): string {
  if (path === '/') return '/';
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

export function baseName(path: string): string {
  return path === '/' ? '' : path.slice(path.lastIndexOf('/') + 1);
}

export function joinPath(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

/** True when `inner` is `outer` itself or lies below it. */
export function isWithin(outer: string, inner: string): boolean {
  return outer === inner || outer === '/' || inner.startsWith(`${outer}/`);
}

/** True when `inner` lies strictly below `outer`. */
export function isStrictlyWithin(outer: string, inner: string): boolean {
  return outer !== inner && isWithin(outer, inner);
}

/**
 * Decodes the part of a request path below a mount point into a resource path. Malformed `%` escapes,
 * invalid UTF-8, an encoded `/`, NUL and `.`/`..` segments are refused with 400: each could otherwise name a
 * different file than the one the client sees.
 */
export function decodeDavPath(rawTail: string): string {
  const noQuery = rawTail.split('?')[0];
  // A fragment never belongs in a request target; honouring the part before it could delete a parent collection.
  if (noQuery.includes('#')) throw DavErrors.badPath('A request path may not contain a fragment');
  const segments: string[] = [];
  for (const raw of noQuery.split('/')) {
    if (raw === '') continue;
    let seg: string;
    try {
      seg = decodeURIComponent(raw);
    } catch {
      throw DavErrors.badPath('The path has a malformed percent escape or invalid UTF-8');
    }
    if (seg.includes('/')) throw DavErrors.badPath('A path segment may not contain an encoded slash');
    if (seg.includes('\u0000')) throw DavErrors.badPath('A path segment may not contain NUL');
    if (seg === '.' || seg === '..') throw DavErrors.badPath('A path may not contain . or .. segments');
    segments.push(seg);
  }
  return `/${segments.join('/')}`;
}

/** Percent-encodes a resource path for an href, keeping `/`; collections get a trailing slash. */
export function encodePath(path: string, collection: boolean): string {
  const enc = path.split('/').map((s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)).join('/');
  if (!collection || enc.endsWith('/')) return enc;
  return `${enc}/`;
}
