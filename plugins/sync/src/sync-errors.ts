import type { CozyErrorOptions } from '@cozy-ts/kernel';
import type { ErrorRenderer } from '@cozy-ts/kernel';
import { DavError, davErrorBody, davErrorRenderer, el, davEl } from './dav.ts';
import { NS } from './namespaces.ts';

type Opts = Omit<CozyErrorOptions, 'detail'> & { condition?: string };

/**
 * Declares an error whose DAV body names a precondition (RFC 4918 §16, RFC 4791 §1.3, RFC 6352, RFC 6578) in its
 * own namespace: clients read it to tell a UID conflict from a malformed object. `href` (a UID conflict's other
 * member) goes inside the element.
 */
function precondition(code: string, status: number, message: string, ns?: string, element?: string) {
  const make = (detail?: string, opts: Opts & { href?: string } = {}) => {
    const { href, ...rest } = opts;
    const condition = rest.condition ?? (ns && element ? el({ ns, name: element }, href ? davEl('href', href) : undefined).raw : undefined);
    return new DavError(code, status, detail ?? message, { ...rest, detail: detail ?? message, condition });
  };
  return Object.assign(make, { code, status });
}

export const SyncErrors = {
  badXml: precondition('COZY_ERR_SYNC_BAD_XML', 400, 'Malformed XML request body'),
  badRequest: precondition('COZY_ERR_SYNC_BAD_REQUEST', 400, 'Bad request'),
  notFound: precondition('COZY_ERR_SYNC_NOT_FOUND', 404, 'Not found'),
  methodNotAllowed: precondition('COZY_ERR_SYNC_METHOD_NOT_ALLOWED', 405, 'Method not allowed here'),
  conflict: precondition('COZY_ERR_SYNC_CONFLICT', 409, 'Conflict'),
  preconditionFailed: precondition('COZY_ERR_SYNC_PRECONDITION_FAILED', 412, 'Precondition failed'),
  forbidden: precondition('COZY_ERR_SYNC_FORBIDDEN', 403, 'Forbidden'),
  unauthorized: precondition('COZY_ERR_SYNC_UNAUTHORIZED', 401, 'Authentication required'),
  tooLarge: precondition('COZY_ERR_SYNC_TOO_LARGE', 413, 'Request body too large'),

  invalidCalendarData: precondition('COZY_ERR_SYNC_INVALID_ICAL', 400, 'Invalid iCalendar data', NS.CALDAV, 'valid-calendar-data'),
  invalidCalendarObject: precondition('COZY_ERR_SYNC_INVALID_CALENDAR_OBJECT', 400, 'Invalid calendar object resource', NS.CALDAV, 'valid-calendar-object-resource'),
  unsupportedComponent: precondition('COZY_ERR_SYNC_UNSUPPORTED_COMPONENT', 403, 'Unsupported calendar component', NS.CALDAV, 'supported-calendar-component'),
  unsupportedCalendarData: precondition('COZY_ERR_SYNC_UNSUPPORTED_CALENDAR_DATA', 415, 'Only text/calendar is stored here', NS.CALDAV, 'supported-calendar-data'),
  calendarUidConflict: precondition('COZY_ERR_SYNC_CALENDAR_UID_CONFLICT', 409, 'Another object of this calendar has this UID', NS.CALDAV, 'no-uid-conflict'),
  calendarTooLarge: precondition('COZY_ERR_SYNC_CALENDAR_TOO_LARGE', 413, 'Calendar object too large', NS.CALDAV, 'max-resource-size'),
  calendarCollectionLocation: precondition('COZY_ERR_SYNC_CALENDAR_LOCATION', 403, 'Calendars can only be created in the calendar home', NS.CALDAV, 'calendar-collection-location-ok'),
  unsupportedCalendarDataReport: precondition('COZY_ERR_SYNC_CALENDAR_DATA_TYPE', 403, 'Only text/calendar 2.0 is served', NS.CALDAV, 'supported-calendar-data'),
  unsupportedCalendarCollation: precondition('COZY_ERR_SYNC_CALENDAR_COLLATION', 403, 'Unsupported collation', NS.CALDAV, 'supported-collation'),
  invalidTimezone: precondition('COZY_ERR_SYNC_INVALID_TIMEZONE', 403, 'Unknown time zone identifier', NS.CALDAV, 'valid-timezone'),
  invalidFilter: precondition('COZY_ERR_SYNC_INVALID_FILTER', 400, 'Invalid calendar-query filter', NS.CALDAV, 'valid-filter'),

  invalidAddressData: precondition('COZY_ERR_SYNC_INVALID_VCARD', 400, 'Invalid vCard data', NS.CARDDAV, 'valid-address-data'),
  unsupportedAddressData: precondition('COZY_ERR_SYNC_UNSUPPORTED_ADDRESS_DATA', 415, 'Only text/vcard is stored here', NS.CARDDAV, 'supported-address-data'),
  unsupportedAddressDataReport: precondition('COZY_ERR_SYNC_ADDRESS_DATA_TYPE', 403, 'Only text/vcard 3.0 and 4.0 are served', NS.CARDDAV, 'supported-address-data'),
  unsupportedAddressCollation: precondition('COZY_ERR_SYNC_ADDRESS_COLLATION', 403, 'Unsupported collation', NS.CARDDAV, 'supported-collation'),
  addressUidConflict: precondition('COZY_ERR_SYNC_ADDRESS_UID_CONFLICT', 409, 'Another card of this address book has this UID', NS.CARDDAV, 'no-uid-conflict'),
  addressTooLarge: precondition('COZY_ERR_SYNC_ADDRESS_TOO_LARGE', 413, 'vCard too large', NS.CARDDAV, 'max-resource-size'),
  addressbookLocation: precondition('COZY_ERR_SYNC_ADDRESSBOOK_LOCATION', 403, 'Address books can only be created in the address book home', NS.CARDDAV, 'addressbook-collection-location-ok'),

  tooManyMatches: precondition('COZY_ERR_SYNC_TOO_MANY_MATCHES', 507, 'More results than the limit allows', NS.DAV, 'number-of-matches-within-limits'),
  invalidSyncToken: precondition('COZY_ERR_SYNC_INVALID_TOKEN', 403, 'Invalid or stale sync token', NS.DAV, 'valid-sync-token'),
  resourceMustBeNull: precondition('COZY_ERR_SYNC_RESOURCE_EXISTS', 405, 'A resource already exists at this URL', NS.DAV, 'resource-must-be-null'),
  validResourcetype: precondition('COZY_ERR_SYNC_BAD_RESOURCETYPE', 403, 'Unsupported resource type for a new collection', NS.DAV, 'valid-resourcetype'),
  unsupportedReport: precondition('COZY_ERR_SYNC_UNSUPPORTED_REPORT', 403, 'This report is not supported here', NS.DAV, 'supported-report'),
} as const;

/**
 * The DAV error family, with one addition: a body over the size limit is refused by fastify before any handler
 * runs, and a client uploading an object learns the CalDAV/CardDAV reason (max-resource-size) all the same.
 */
export const syncErrorRenderer: ErrorRenderer = (err, req) => {
  if (err.code === 'COZY_ERR_PAYLOAD_TOO_LARGE' && req.method === 'PUT') {
    const tooLarge = req.url.startsWith('/sync/contacts/') ? SyncErrors.addressTooLarge() : SyncErrors.calendarTooLarge();
    return { contentType: 'application/xml; charset=utf-8', body: davErrorBody(tooLarge) };
  }
  return davErrorRenderer(err, req);
};
