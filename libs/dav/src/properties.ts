import { DavErrors } from './errors.ts';
import { child, clark, DAV_NS, elements, is, type QName, type XmlElement } from './xml/element.ts';
import { serializeNodes } from './xml/write.ts';

/**
 * A dead property: name plus its value as self-contained serialised XML (the content of the property element,
 * each element declaring its own namespace). `lang` keeps an `xml:lang` given on the property element.
 */
export interface DeadProperty {
  ns: string;
  name: string;
  xml: string;
  lang?: string;
}

export type PropPatchOp = { op: 'set'; property: DeadProperty } | { op: 'remove'; name: QName };

export type PropfindRequest =
  | { kind: 'allprop'; include: QName[] }
  | { kind: 'propname' }
  | { kind: 'prop'; names: QName[] };

const XML_NS = 'http://www.w3.org/XML/1998/namespace';

/** Reads a PROPFIND body (already parsed); no body at all means allprop. */
export function readPropfind(root: XmlElement | undefined): PropfindRequest {
  if (!root) return { kind: 'allprop', include: [] };
  if (!is(root, DAV_NS, 'propfind')) throw DavErrors.badXml('A PROPFIND body must be a DAV:propfind element');
  const kids = elements(root);
  const prop = kids.find((k) => is(k, DAV_NS, 'prop'));
  const allprop = kids.find((k) => is(k, DAV_NS, 'allprop'));
  const propname = kids.find((k) => is(k, DAV_NS, 'propname'));
  if ([prop, allprop, propname].filter(Boolean).length !== 1) throw DavErrors.badXml('A DAV:propfind needs exactly one of prop, allprop, propname');
  if (propname) return { kind: 'propname' };
  if (allprop) {
    const include = child(root, DAV_NS, 'include');
    return { kind: 'allprop', include: include ? elements(include).map(({ ns, name }) => ({ ns, name })) : [] };
  }
  const seen = new Set<string>();
  const names: QName[] = [];
  for (const k of elements(prop as XmlElement)) {
    const q = { ns: k.ns, name: k.name };
    if (seen.has(clark(q))) continue;
    seen.add(clark(q));
    names.push(q);
  }
  return { kind: 'prop', names };
}

/** Reads a PROPPATCH body into set/remove operations in document order (RFC 4918 §9.2: order matters). */
export function readProppatch(root: XmlElement): PropPatchOp[] {
  if (!is(root, DAV_NS, 'propertyupdate')) throw DavErrors.badXml('A PROPPATCH body must be a DAV:propertyupdate element');
  const ops: PropPatchOp[] = [];
  for (const block of elements(root)) {
    const isSet = is(block, DAV_NS, 'set');
    if (!isSet && !is(block, DAV_NS, 'remove')) continue;
    const prop = child(block, DAV_NS, 'prop');
    if (!prop) throw DavErrors.badXml('DAV:set and DAV:remove need a DAV:prop');
    for (const p of elements(prop)) {
      if (isSet) {
        const lang = p.attrs[`{${XML_NS}}lang`];
        ops.push({ op: 'set', property: { ns: p.ns, name: p.name, xml: serializeNodes(p.children), ...(lang ? { lang } : {}) } });
      } else {
        ops.push({ op: 'remove', name: { ns: p.ns, name: p.name } });
      }
    }
  }
  if (!ops.length) throw DavErrors.badXml('A PROPPATCH body needs at least one property');
  return ops;
}

/** Applies operations to a list of dead properties (what an in-memory or document-backed store does). */
export function applyPropPatch(current: readonly DeadProperty[], ops: readonly PropPatchOp[]): DeadProperty[] {
  const map = new Map(current.map((p) => [clark(p), p]));
  for (const op of ops) {
    if (op.op === 'set') map.set(clark(op.property), op.property);
    else map.delete(clark(op.name));
  }
  return [...map.values()];
}
