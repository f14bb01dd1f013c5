/**
 * What this plugin takes from @cozy-ts/dav, the DAV core shared with plugins/webdav (one XML parser and writer,
 * one multistatus, one conditional-request evaluator, one DAV error family), plus optional-parent helpers.
 */
import { child as childOf, childrenNamed as childrenOf, is as isEl, type XmlElement } from '@cozy-ts/dav';

export {
  parseXml, textOf, elements, clark, fromClark, el, davEl, Xml, escapeText, serializeNodes, Multistatus, DavError, davErrorRenderer, davErrorBody,
  evaluateConditional, readPropfind, registerDavMethods, davDocument, type XmlContent, DEFAULT_XML_LIMITS, type XmlElement, type QName, type PropStat,
} from '@cozy-ts/dav';

/** `child` that also takes a missing parent, which optional request elements make common here. */
export function child(el: XmlElement | undefined, ns: string, name: string): XmlElement | undefined {
  return el ? childOf(el, ns, name) : undefined;
}

export function childrenNamed(el: XmlElement | undefined, ns: string, name: string): XmlElement[] {
  return el ? childrenOf(el, ns, name) : [];
}

export function is(el: XmlElement | undefined, ns: string, name: string): boolean {
  return !!el && isEl(el, ns, name);
}
