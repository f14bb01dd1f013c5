/** @cozy-ts/dav: the DAV protocol core. See README.md for the API by piece. */
export * from './xml/element.ts';
export { parseXml, DEFAULT_XML_LIMITS, type XmlLimits } from './xml/parse.ts';
export * from './xml/write.ts';
export { readSmallBody, readXmlBody, DEFAULT_XML_BODY_LIMIT } from './body.ts';
export { DavError, DavErrors, defineDavError, isDavError } from './errors.ts';
export { davErrorRenderer, davErrorBody, COZY_DAV_NS } from './error-renderer.ts';
export { Multistatus, statusLine, type PropStat } from './multistatus.ts';
export { statusTitle } from './status.ts';
export * from './properties.ts';
export * from './dead-properties.ts';
export * from './conditional.ts';
export * from './if-header.ts';
export * from './locks.ts';
export * from './paths.ts';
export * from './range.ts';
export type { DavBackend, DavResource, WriteInput } from './backend.ts';
