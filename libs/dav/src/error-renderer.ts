import type { CozyError, ErrorRenderer } from '@cozy-ts/kernel';
import { isDavError } from './errors.ts';
import { escapeText, XML_DECL } from './xml/write.ts';

export const COZY_DAV_NS = 'https://cozy.io/ns/dav';

/** The `<D:error>` body of an error: its condition element if it has one, and the stable code and message. */
export function davErrorBody(err: CozyError): string {
  const condition = isDavError(err) && err.condition ? err.condition : '';
  return `${XML_DECL}<D:error xmlns:D="DAV:" xmlns:c="${COZY_DAV_NS}">${condition}` +
    `<c:code>${escapeText(err.code)}</c:code><c:message>${escapeText(err.detail)}</c:message></D:error>`;
}

/** The DAV error family for the kernel's error edge: `setErrorFamily(app, davErrorRenderer)`. */
export const davErrorRenderer: ErrorRenderer = (err) => ({ contentType: 'application/xml; charset=utf-8', body: davErrorBody(err) });
