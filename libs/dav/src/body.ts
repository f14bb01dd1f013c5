import type { Readable } from 'node:stream';
import { DavErrors } from './errors.ts';
import { parseXml, type XmlLimits } from './xml/parse.ts';
import type { XmlElement } from './xml/element.ts';

export const DEFAULT_XML_BODY_LIMIT = 1024 * 1024;

/**
 * Reads a whole (small) request body, refusing with 413 as soon as it passes `maxBytes`: an announced
 * Content-Length over the limit is refused before reading anything. Invalid UTF-8 is a 400.
 */
export async function readSmallBody(body: Readable, contentLength: number | undefined, maxBytes: number): Promise<Buffer> {
  if (contentLength !== undefined && contentLength > maxBytes) {
    body.resume();
    throw DavErrors.tooLarge(`The XML body is limited to ${maxBytes} bytes`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) {
      body.resume();
      throw DavErrors.tooLarge(`The XML body is limited to ${maxBytes} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Reads and parses an XML request body; undefined when the body is empty. */
export async function readXmlBody(body: Readable, contentLength: number | undefined, maxBytes: number, limits?: XmlLimits): Promise<XmlElement | undefined> {
  const buf = await readSmallBody(body, contentLength, maxBytes);
  if (!buf.length || !buf.toString('utf8').trim()) return undefined;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch {
    throw DavErrors.badXml('The XML body is not valid UTF-8');
  }
  return parseXml(text, limits);
}
