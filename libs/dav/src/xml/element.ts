/**
 * A parsed XML element with every name resolved to its namespace URI, so that `D:prop` and `x:prop` bound to
 * the same URI are the same element and two `prop`s in different namespaces never are.
 */
export interface XmlElement {
  /** Namespace URI; '' for no namespace. */
  ns: string;
  /** Local name. */
  name: string;
  /** Attributes keyed by Clark notation (`{ns}name`, or just `name` without a namespace). */
  attrs: Record<string, string>;
  /** Child nodes in document order: elements and text runs. */
  children: XmlNode[];
}

export type XmlNode = XmlElement | string;

export const DAV_NS = 'DAV:';

/** A property or element name: namespace URI and local name. */
export interface QName {
  ns: string;
  name: string;
}

/** Clark notation, `{ns}name`, a stable key for maps of properties. */
export function clark(q: QName): string {
  return `{${q.ns}}${q.name}`;
}

export function fromClark(key: string): QName {
  const end = key.indexOf('}');
  return { ns: key.slice(1, end), name: key.slice(end + 1) };
}

export function isElement(node: XmlNode): node is XmlElement {
  return typeof node !== 'string';
}

export function is(el: XmlElement, ns: string, name: string): boolean {
  return el.ns === ns && el.name === name;
}

export function elements(el: XmlElement): XmlElement[] {
  return el.children.filter(isElement);
}

export function child(el: XmlElement, ns: string, name: string): XmlElement | undefined {
  return el.children.find((c): c is XmlElement => isElement(c) && c.ns === ns && c.name === name);
}

export function childrenNamed(el: XmlElement, ns: string, name: string): XmlElement[] {
  return el.children.filter((c): c is XmlElement => isElement(c) && c.ns === ns && c.name === name);
}

/** The concatenated text of an element and its descendants. */
export function textOf(el: XmlElement): string {
  return el.children.map((c) => (typeof c === 'string' ? c : textOf(c))).join('');
}
