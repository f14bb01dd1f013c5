import { defineError, type CozyError, type ErrorRenderer } from '@cozy-ts/kernel';
import { escapeXml, NS } from './xml.ts';

/**
 * The precondition element each error names in its DAV error body (RFC 4918 §16, RFC 4791 §1.3, RFC 6352, RFC 6578),
 * as `[namespace, element]`. Clients read these to tell, say, a UID conflict from a malformed object.
 */
const PRECONDITIONS = new Map<string, [string, string]>();

function precondition(code: string, status: number, message: string, ns: string, element: string) {
  PRECONDITIONS.set(code, [ns, element]);
  return defineError(code, status, message);
}

export const SyncErrors = {
  badXml: defineError('COZY_ERR_SYNC_BAD_XML', 400, 'Malformed XML request body'),
  badRequest: defineError('COZY_ERR_SYNC_BAD_REQUEST', 400, 'Bad request'),
  notFound: defineError('COZY_ERR_SYNC_NOT_FOUND', 404, 'Not found'),
  methodNotAllowed: defineError('COZY_ERR_SYNC_METHOD_NOT_ALLOWED', 405, 'Method not allowed here'),
  conflict: defineError('COZY_ERR_SYNC_CONFLICT', 409, 'Conflict'),
  preconditionFailed: defineError('COZY_ERR_SYNC_PRECONDITION_FAILED', 412, 'Precondition failed'),
  unsupportedMedia: defineError('COZY_ERR_SYNC_UNSUPPORTED_MEDIA', 415, 'Unsupported media type'),
  forbidden: defineError('COZY_ERR_SYNC_FORBIDDEN', 403, 'Forbidden'),
  unauthorized: defineError('COZY_ERR_SYNC_UNAUTHORIZED', 401, 'Authentication required'),
  tooLarge: defineError('COZY_ERR_SYNC_TOO_LARGE', 413, 'Request body too large'),
  /** Too much work asked of one query (an expansion past the bounds). */
  tooMuch: precondition('COZY_ERR_SYNC_TOO_MUCH', 507, 'The query matches more than the server will expand', NS.DAV, 'number-of-matches-within-limits'),

  invalidCalendarData: precondition('COZY_ERR_SYNC_INVALID_ICAL', 400, 'Invalid iCalendar data', NS.CALDAV, 'valid-calendar-data'),
  invalidCalendarObject: precondition('COZY_ERR_SYNC_INVALID_CALENDAR_OBJECT', 400, 'Invalid calendar object resource', NS.CALDAV, 'valid-calendar-object-resource'),
  unsupportedComponent: precondition('COZY_ERR_SYNC_UNSUPPORTED_COMPONENT', 403, 'Unsupported calendar component', NS.CALDAV, 'supported-calendar-component'),
  unsupportedCalendarData: precondition('COZY_ERR_SYNC_UNSUPPORTED_CALENDAR_DATA', 415, 'Only text/calendar is stored here', NS.CALDAV, 'supported-calendar-data'),
  calendarUidConflict: precondition('COZY_ERR_SYNC_CALENDAR_UID_CONFLICT', 409, 'Another object of this calendar has this UID', NS.CALDAV, 'no-uid-conflict'),
  calendarTooLarge: precondition('COZY_ERR_SYNC_CALENDAR_TOO_LARGE', 413, 'Calendar object too large', NS.CALDAV, 'max-resource-size'),
  calendarCollectionLocation: precondition('COZY_ERR_SYNC_CALENDAR_LOCATION', 403, 'Calendars can only be created in the calendar home', NS.CALDAV, 'calendar-collection-location-ok'),
  invalidFilter: precondition('COZY_ERR_SYNC_INVALID_FILTER', 400, 'Invalid calendar-query filter', NS.CALDAV, 'valid-filter'),

  invalidAddressData: precondition('COZY_ERR_SYNC_INVALID_VCARD', 400, 'Invalid vCard data', NS.CARDDAV, 'valid-address-data'),
  unsupportedAddressData: precondition('COZY_ERR_SYNC_UNSUPPORTED_ADDRESS_DATA', 415, 'Only text/vcard is stored here', NS.CARDDAV, 'supported-address-data'),
  addressUidConflict: precondition('COZY_ERR_SYNC_ADDRESS_UID_CONFLICT', 409, 'Another card of this address book has this UID', NS.CARDDAV, 'no-uid-conflict'),
  addressTooLarge: precondition('COZY_ERR_SYNC_ADDRESS_TOO_LARGE', 413, 'vCard too large', NS.CARDDAV, 'max-resource-size'),
  addressbookLocation: precondition('COZY_ERR_SYNC_ADDRESSBOOK_LOCATION', 403, 'Address books can only be created in the address book home', NS.CARDDAV, 'addressbook-collection-location-ok'),

  invalidSyncToken: precondition('COZY_ERR_SYNC_INVALID_TOKEN', 403, 'Invalid or stale sync token', NS.DAV, 'valid-sync-token'),
  resourceMustBeNull: precondition('COZY_ERR_SYNC_RESOURCE_EXISTS', 405, 'A resource already exists at this URL', NS.DAV, 'resource-must-be-null'),
  validResourcetype: precondition('COZY_ERR_SYNC_BAD_RESOURCETYPE', 403, 'Unsupported resource type for a new collection', NS.DAV, 'valid-resourcetype'),
  unsupportedReport: precondition('COZY_ERR_SYNC_UNSUPPORTED_REPORT', 403, 'This report is not supported here', NS.DAV, 'supported-report'),
  cannotModifyProtected: precondition('COZY_ERR_SYNC_PROTECTED', 403, 'Property cannot be modified', NS.DAV, 'cannot-modify-protected-property'),
} as const;

const PREFIXES: Record<string, string> = { [NS.DAV]: 'D', [NS.CALDAV]: 'C', [NS.CARDDAV]: 'CR' };

/** DAV error bodies (RFC 4918 §8.7): `<D:error>` with the precondition element when there is one. */
export const davErrorRenderer: ErrorRenderer = (err: CozyError, req) => {
  const pre = PRECONDITIONS.get(err.code);
  let inner = '';
  if (pre) {
    const [ns, el] = pre;
    const p = PREFIXES[ns] ?? 'D';
    // A UID conflict names the member that holds the UID (RFC 4791 §5.3.2.1), next to the one being written.
    const other = (err.cause as { href?: unknown } | undefined)?.href;
    const href = typeof other === 'string' ? `<D:href>${escapeXml(req.url.split('?')[0]!.replace(/[^/]*$/, '') + encodeURIComponent(other))}</D:href>` : '';
    const open = ns === NS.DAV ? `D:${el}` : `${p}:${el} xmlns:${p}="${ns}"`;
    inner = href ? `<${open}>${href}</${p}:${el}>` : `<${open}/>`;
  }
  const body = `<?xml version="1.0" encoding="utf-8"?>\n<D:error xmlns:D="DAV:">${inner}` +
    `<D:responsedescription>${escapeXml(err.detail)}</D:responsedescription></D:error>\n`;
  return { contentType: 'application/xml; charset=utf-8', body };
};
