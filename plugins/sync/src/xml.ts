import { SaxesParser } from 'saxes';
import { SyncErrors } from './sync-errors.ts';

/** One parsed element: namespace URI and local name, attributes by local name, children, and its text. */
export interface XmlElement {
  ns: string;
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

export const NS = {
  DAV: 'DAV:',
  CALDAV: 'urn:ietf:params:xml:ns:caldav',
  CARDDAV: 'urn:ietf:params:xml:ns:carddav',
  CS: 'http://calendarserver.org/ns/',
  ICAL: 'http://apple.com/ns/ical/',
} as const;

/** Bounds that keep a hostile body from costing more than its bytes: elements and nesting. */
const MAX_ELEMENTS = 50_000;
const MAX_DEPTH = 64;

/**
 * Parses a request body. A DOCTYPE is refused outright: DAV bodies never need one, and refusing it closes both
 * entity expansion (billion laughs) and external entities; saxes itself knows no entity beyond XML's five.
 */
export function parseXml(body: string): XmlElement {
  const parser = new SaxesParser({ xmlns: true, position: false });
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let count = 0;
  let failure: Error | undefined;
  parser.on('doctype', () => {
    failure ??= SyncErrors.badXml('DOCTYPE is not allowed in a DAV request body');
  });
  parser.on('error', (err) => {
    failure ??= SyncErrors.badXml(`Malformed XML: ${err.message}`);
  });
  parser.on('opentag', (tag) => {
    if (++count > MAX_ELEMENTS || stack.length >= MAX_DEPTH) {
      failure ??= SyncErrors.badXml('XML body too large or too deep');
      return;
    }
    const attrs: Record<string, string> = {};
    for (const a of Object.values(tag.attributes)) if (typeof a === 'object' && a.uri !== 'http://www.w3.org/2000/xmlns/' && a.prefix !== 'xmlns' && a.name !== 'xmlns') attrs[a.local] = a.value;
    const el: XmlElement = { ns: tag.uri ?? '', name: tag.local ?? tag.name, attrs, children: [], text: '' };
    const parent = stack[stack.length - 1];
    if (parent) parent.children.push(el);
    else root ??= el;
    stack.push(el);
  });
  parser.on('text', (text) => {
    const top = stack[stack.length - 1];
    if (top) top.text += text;
  });
  parser.on('cdata', (text) => {
    const top = stack[stack.length - 1];
    if (top) top.text += text;
  });
  parser.on('closetag', () => {
    stack.pop();
  });
  try {
    parser.write(body).close();
  } catch (err) {
    failure ??= SyncErrors.badXml(`Malformed XML: ${(err as Error).message}`);
  }
  if (failure) throw failure;
  if (!root) throw SyncErrors.badXml('Empty XML body');
  return root;
}

export function is(el: XmlElement | undefined, ns: string, name: string): boolean {
  return !!el && el.ns === ns && el.name === name;
}

export function child(el: XmlElement | undefined, ns: string, name: string): XmlElement | undefined {
  return el?.children.find((c) => c.ns === ns && c.name === name);
}

export function childrenNamed(el: XmlElement | undefined, ns: string, name: string): XmlElement[] {
  return el ? el.children.filter((c) => c.ns === ns && c.name === name) : [];
}

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&apos;'))
    // Characters XML 1.0 cannot carry at all: dropping them beats a body no client can parse.
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '');
}

/** A property name as a key: `{ns}name`, the Clark notation. */
export function clark(ns: string, name: string): string {
  return `{${ns}}${name}`;
}

export function parseClark(key: string): { ns: string; name: string } {
  const end = key.indexOf('}');
  return { ns: key.slice(1, end), name: key.slice(end + 1) };
}

/** Serialises a parsed element back to XML (dead properties are stored this way), with its own xmlns. */
export function serializeElement(el: XmlElement): string {
  const decls = new Map<string, string>();
  const prefixOf = (ns: string): string => {
    let p = decls.get(ns);
    if (p === undefined) decls.set(ns, (p = `x${decls.size}`));
    return p;
  };
  const inner = (e: XmlElement): string => {
    const p = e.ns ? `${prefixOf(e.ns)}:` : '';
    const attrs = Object.entries(e.attrs).map(([k, v]) => ` ${k}="${escapeXml(v)}"`).join('');
    const body = e.children.length ? e.children.map(inner).join('') : escapeXml(e.text);
    return `<${p}${e.name}${attrs}>${body}</${p}${e.name}>`;
  };
  const text = inner(el);
  const xmlns = [...decls].map(([ns, p]) => ` xmlns:${p}="${escapeXml(ns)}"`).join('');
  // Put the declarations on the outermost element.
  return text.replace(/^<([^\s>]+)/, `<$1${xmlns}`);
}
