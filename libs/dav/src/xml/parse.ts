import { SaxesParser } from 'saxes';
import { DavErrors } from '../errors.ts';
import type { XmlElement } from './element.ts';

export interface XmlLimits {
  /** Deepest element nesting accepted. */
  maxDepth: number;
  /** Most elements in one document. */
  maxElements: number;
}

export const DEFAULT_XML_LIMITS: XmlLimits = { maxDepth: 64, maxElements: 20_000 };

/**
 * Parses a request body into a namespace-resolved element tree. A document type declaration is refused
 * outright: DAV bodies never need one, and refusing it is what keeps entity expansion ("billion laughs") and
 * external entities (file or network reads) impossible, whatever the parser would otherwise do with them.
 * Any syntax or namespace error becomes a 400; the size limit is the caller's (it reads the body).
 */
export function parseXml(text: string, limits: XmlLimits = DEFAULT_XML_LIMITS): XmlElement {
  const parser = new SaxesParser({ xmlns: true, position: false });
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let count = 0;
  let failure: Error | undefined;
  const fail = (err: Error) => {
    failure ??= err;
  };
  parser.on('error', (err) => fail(DavErrors.badXml(`Malformed XML: ${err.message}`)));
  parser.on('doctype', () => fail(DavErrors.badXml('XML document type declarations are not accepted')));
  parser.on('processinginstruction', () => undefined);
  parser.on('opentag', (tag) => {
    if (failure) return;
    if (++count > limits.maxElements) return fail(DavErrors.badXml('The XML body has too many elements'));
    if (stack.length >= limits.maxDepth) return fail(DavErrors.badXml('The XML body is nested too deeply'));
    const attrs: Record<string, string> = {};
    for (const a of Object.values(tag.attributes)) {
      const attr = a as { uri: string; local: string; prefix: string; value: string; name: string };
      // Namespace declarations are resolved into names already; keeping them would only duplicate that.
      if (attr.name === 'xmlns' || attr.prefix === 'xmlns') continue;
      attrs[attr.uri ? `{${attr.uri}}${attr.local}` : attr.local] = attr.value;
    }
    const el: XmlElement = { ns: tag.uri ?? '', name: tag.local ?? tag.name, attrs, children: [] };
    if (stack.length) stack[stack.length - 1].children.push(el);
    else root = el;
    stack.push(el);
  });
  parser.on('closetag', () => {
    if (!failure) stack.pop();
  });
  const onText = (t: string) => {
    if (failure || !stack.length) return;
    const kids = stack[stack.length - 1].children;
    const last = kids[kids.length - 1];
    if (typeof last === 'string') kids[kids.length - 1] = last + t;
    else kids.push(t);
  };
  parser.on('text', onText);
  parser.on('cdata', onText);
  try {
    parser.write(text);
    if (!failure) parser.close();
  } catch (err) {
    fail(DavErrors.badXml(`Malformed XML: ${(err as Error).message}`));
  }
  if (failure) throw failure;
  if (!root) throw DavErrors.badXml('The XML body has no root element');
  return root;
}
