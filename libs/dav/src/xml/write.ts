import { DAV_NS, isElement, type QName, type XmlElement, type XmlNode } from './element.ts';

export const XML_DECL = '<?xml version="1.0" encoding="utf-8"?>\n';

// XML 1.0 forbids these characters even escaped; a stored value carrying one would make the whole reply unreadable.
const INVALID_CHARS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

export function escapeText(s: string): string {
  return s.replace(INVALID_CHARS, '\uFFFD').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\r/g, '&#13;');
}

export function escapeAttr(s: string): string {
  return escapeText(s).replace(/"/g, '&quot;').replace(/\n/g, '&#10;').replace(/\t/g, '&#9;');
}

/**
 * An XML fragment already serialised, trusted to be well-formed. Values built with the helpers below are
 * safe; a plain string given where Xml is expected is escaped as text.
 */
export class Xml {
  constructor(readonly raw: string) {}
  toString(): string {
    return this.raw;
  }
}

export type XmlContent = Xml | string | number | null | undefined | XmlContent[];

export function xmlContent(c: XmlContent): string {
  if (c === null || c === undefined) return '';
  if (c instanceof Xml) return c.raw;
  if (Array.isArray(c)) return c.map(xmlContent).join('');
  return escapeText(String(c));
}

/**
 * An element in the DAV: namespace, written with the `D:` prefix that every document built here declares on
 * its root (multistatus, error, prop).
 */
export function davEl(name: string, content?: XmlContent): Xml {
  const inner = xmlContent(content);
  return new Xml(inner ? `<D:${name}>${inner}</D:${name}>` : `<D:${name}/>`);
}

/**
 * An element in any namespace. DAV: elements use the root's `D:` prefix; others declare their namespace as
 * the default one on themselves (`xmlns=""` for no namespace), so the output never depends on a prefix map.
 */
export function el(q: QName, content?: XmlContent, attrs?: Record<string, string>): Xml {
  if (q.ns === DAV_NS && !attrs) return davEl(q.name, content);
  const inner = xmlContent(content);
  let open = q.ns === DAV_NS ? `D:${q.name}` : `${q.name} xmlns="${escapeAttr(q.ns)}"`;
  for (const [k, v] of Object.entries(attrs ?? {})) open += ` ${k}="${escapeAttr(v)}"`;
  const tag = q.ns === DAV_NS ? `D:${q.name}` : q.name;
  return new Xml(inner ? `<${open}>${inner}</${tag}>` : `<${open}/>`);
}

/**
 * Serialises parsed nodes so that they read the same anywhere they are pasted: every element carries its own
 * default-namespace declaration and namespaced attributes get a local prefix. This is how dead property
 * values and lock owners survive storage with their namespaces intact.
 */
export function serializeNodes(nodes: XmlNode[], parentNs: string | null = null): string {
  let out = '';
  for (const n of nodes) {
    if (!isElement(n)) {
      out += escapeText(n);
      continue;
    }
    out += serializeElement(n, parentNs);
  }
  return out;
}

export function serializeElement(e: XmlElement, parentNs: string | null = null): string {
  let open = e.name;
  if (e.ns !== parentNs) open += ` xmlns="${escapeAttr(e.ns)}"`;
  let i = 0;
  for (const [key, value] of Object.entries(e.attrs)) {
    if (key.startsWith('{')) {
      const end = key.indexOf('}');
      const ns = key.slice(1, end);
      const local = key.slice(end + 1);
      if (ns === 'http://www.w3.org/XML/1998/namespace') {
        open += ` xml:${local}="${escapeAttr(value)}"`;
      } else {
        const p = `a${i++}`;
        open += ` xmlns:${p}="${escapeAttr(ns)}" ${p}:${local}="${escapeAttr(value)}"`;
      }
    } else {
      open += ` ${key}="${escapeAttr(value)}"`;
    }
  }
  if (!e.children.length) return `<${open}/>`;
  return `<${open}>${serializeNodes(e.children, e.ns)}</${e.name}>`;
}

/** A complete document whose root is a DAV: element, with the `D:` prefix declared. */
export function davDocument(rootName: string, content: XmlContent): string {
  return `${XML_DECL}<D:${rootName} xmlns:D="DAV:">${xmlContent(content)}</D:${rootName}>`;
}
