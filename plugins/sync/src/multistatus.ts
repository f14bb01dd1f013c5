import { escapeXml, NS } from './xml.ts';

const PREFIX: Record<string, string> = { [NS.DAV]: 'D', [NS.CALDAV]: 'C', [NS.CARDDAV]: 'CR', [NS.CS]: 'CS', [NS.ICAL]: 'I' };
const ROOT_XMLNS = Object.entries(PREFIX).map(([ns, p]) => ` xmlns:${p}="${ns}"`).join('');

/** A property's value: inner XML written with the root's prefixes, or a whole stored element (dead property). */
export type PropValue = { xml: string } | { element: string };

export interface PropResult {
  ns: string;
  name: string;
  status: number;
  value?: PropValue;
}

const REASONS: Record<number, string> = { 200: 'OK', 403: 'Forbidden', 404: 'Not Found', 409: 'Conflict', 424: 'Failed Dependency', 507: 'Insufficient Storage' };

export function statusLine(status: number): string {
  return `HTTP/1.1 ${status} ${REASONS[status] ?? ''}`.trimEnd();
}

/** An element tag for a property, with an inline namespace declaration when the root has none for it. */
export function tag(ns: string, name: string): { open: string; close: string; empty: string } {
  const p = PREFIX[ns];
  if (p) return { open: `<${p}:${name}>`, close: `</${p}:${name}>`, empty: `<${p}:${name}/>` };
  if (!ns) return { open: `<${name} xmlns="">`, close: `</${name}>`, empty: `<${name} xmlns=""/>` };
  const decl = ` xmlns:X="${escapeXml(ns)}"`;
  return { open: `<X:${name}${decl}>`, close: `</X:${name}>`, empty: `<X:${name}${decl}/>` };
}

function propXml(r: PropResult): string {
  if (!r.value) return tag(r.ns, r.name).empty;
  if ('element' in r.value) return r.value.element;
  const t = tag(r.ns, r.name);
  return r.value.xml === '' ? t.empty : `${t.open}${r.value.xml}${t.close}`;
}

/** One `<D:response>` with a propstat per status; `minimal` (Prefer: return=minimal) drops the 404s. */
export function propResponse(href: string, results: PropResult[], minimal = false): string {
  const byStatus = new Map<number, PropResult[]>();
  for (const r of results) {
    if (minimal && r.status === 404) continue;
    byStatus.set(r.status, [...(byStatus.get(r.status) ?? []), r]);
  }
  let out = `<D:response><D:href>${escapeXml(href)}</D:href>`;
  if (byStatus.size === 0) out += `<D:propstat><D:prop/><D:status>${statusLine(200)}</D:status></D:propstat>`;
  for (const [status, list] of byStatus) {
    out += `<D:propstat><D:prop>${list.map((r) => (status === 200 ? propXml(r) : tag(r.ns, r.name).empty)).join('')}</D:prop><D:status>${statusLine(status)}</D:status></D:propstat>`;
  }
  return out + '</D:response>';
}

export function statusResponse(href: string, status: number): string {
  return `<D:response><D:href>${escapeXml(href)}</D:href><D:status>${statusLine(status)}</D:status></D:response>`;
}

export function multistatus(responses: string[], tail = ''): string {
  return `<?xml version="1.0" encoding="utf-8"?>\n<D:multistatus${ROOT_XMLNS}>${responses.join('')}${tail}</D:multistatus>\n`;
}
