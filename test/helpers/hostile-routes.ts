import type { ErrorShape } from './hostile-http.ts';

/** Which credential a route takes when the request is not about credentials. */
export type AuthKind = 'bearer' | 'oauth' | 'basic' | 'cookie' | 'spare-cookie' | 'regtoken' | 'admin' | 'none';

/** The body a route expects, so the hostile bodies sent to it are of the right family (JSON, XML, form). */
export type BodyKind = 'json' | 'jsonapi' | 'form' | 'xml' | 'ical' | 'vcard' | 'bytes' | 'none';

/** Ids a route template can name; `{x}` in a path is replaced by the attacker's own id of that kind. */
export type IdKind =
  | 'file' | 'dir' | 'doc' | 'trigger' | 'job' | 'client' | 'permission' | 'device' | 'domain' | 'version' | 'secret'
  | 'doctype' | 'worker' | 'davfile' | 'davdir' | 'cal' | 'event' | 'book' | 'card' | 'token' | 'ddoc' | 'user';

export interface RouteTemplate {
  family: string;
  method: string;
  /** A path with `{kind}` placeholders, each a single segment (or, for dav paths, a relative path). */
  path: string;
  auth: AuthKind;
  body: BodyKind;
  shape: ErrorShape;
  server?: 'public' | 'admin';
  /** Answers anybody (a page, a discovery document): another tenant's credential need not be refused. */
  open?: boolean;
  /** Destroys what it names: it gets the spare ids, so the ids other requests use stay in place. */
  destructive?: boolean;
  /** A valid body for this route, which the header-level hostility (content-type, accept, ...) carries. */
  sample?: string;
}

function r(family: string, method: string, path: string, auth: AuthKind, body: BodyKind, shape: ErrorShape, extra: Partial<RouteTemplate> = {}): RouteTemplate {
  return { family, method, path, auth, body, shape, ...extra };
}

const J = (v: unknown) => JSON.stringify(v);
const PROPFIND = '<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:getetag/><d:resourcetype/></d:prop></d:propfind>';
const REPORT = '<?xml version="1.0"?><c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><d:getetag/></d:prop><c:filter><c:comp-filter name="VCALENDAR"/></c:filter></c:calendar-query>';
const EVENT = 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//fuzz//EN\r\nBEGIN:VEVENT\r\nUID:fuzz-1\r\nDTSTAMP:20240101T000000Z\r\nDTSTART:20240101T100000Z\r\nSUMMARY:fuzz\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n';
const CARD = 'BEGIN:VCARD\r\nVERSION:3.0\r\nUID:fuzz-card\r\nFN:Fuzz\r\nN:Fuzz;;;;\r\nEND:VCARD\r\n';
const FILE_ATTRS = J({ data: { type: 'io.cozy.files', attributes: { name: 'renamed.txt', tags: ['x'] } } });

/**
 * Every route family the Pi profile serves (checked against the server's route table by the test), with the
 * credential, body and error family of each route. Paths follow the server's printRoutes().
 */
export const ROUTES: RouteTemplate[] = [
  // Kernel: status, version, catch-all.
  r('status', 'GET', '/status', 'none', 'none', 'any', { open: true }),
  r('status', 'GET', '/version', 'none', 'none', 'jsonapi', { open: true }),
  r('status', 'GET', '/{file}/no/such/route', 'bearer', 'none', 'jsonapi'),
  // Kernel: login, sessions, onboarding, public pages.
  r('auth', 'GET', '/', 'cookie', 'none', 'html', { open: true }),
  r('auth', 'GET', '/auth/login', 'none', 'none', 'html', { open: true }),
  r('auth', 'POST', '/auth/login', 'none', 'form', 'html', { open: true, sample: 'passphrase=abc&csrf_token=x&redirect=' }),
  r('auth', 'DELETE', '/auth/login', 'spare-cookie', 'none', 'plain'),
  r('auth', 'POST', '/auth/login/others', 'cookie', 'none', 'plain'),
  r('auth', 'DELETE', '/auth/login/others', 'cookie', 'none', 'plain'),
  r('auth', 'POST', '/auth/logout', 'spare-cookie', 'form', 'html'),
  r('auth', 'GET', '/auth/passphrase', 'none', 'none', 'html', { open: true }),
  r('auth', 'POST', '/auth/onboarding/passphrase', 'none', 'json', 'jsonapi', { open: true, sample: J({ register_token: 'x', passphrase: 'y', iterations: 100000 }) }),
  r('auth', 'GET', '/public/prelogin', 'none', 'none', 'jsonapi', { open: true }),
  r('auth', 'POST', '/auth/share-by-link/password', 'none', 'form', 'jsonapi', { open: true, sample: 'perm_id=x&password=y' }),
  r('auth', 'GET', '/auth/assets/login.js', 'none', 'none', 'any', { open: true }),
  // Kernel: OAuth.
  r('oauth', 'POST', '/auth/register', 'none', 'json', 'plain', { open: true, sample: J({ redirect_uris: ['http://127.0.0.1:9/cb'], client_name: 'f', software_id: 'f' }) }),
  r('oauth', 'GET', '/auth/register/{client}', 'regtoken', 'none', 'plain'),
  r('oauth', 'PUT', '/auth/register/{client}', 'regtoken', 'json', 'plain', { sample: J({ client_id: 'x', redirect_uris: ['http://127.0.0.1:9/cb'], client_name: 'f', software_id: 'f' }) }),
  r('oauth', 'DELETE', '/auth/register/{client}', 'regtoken', 'none', 'plain', { destructive: true }),
  r('oauth', 'POST', '/auth/access_token', 'none', 'form', 'plain', { open: true, sample: 'grant_type=refresh_token&refresh_token=x&client_id=y&client_secret=z' }),
  r('oauth', 'GET', '/auth/authorize?client_id={client}&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb&state=s&response_type=code&scope=io.cozy.files', 'cookie', 'none', 'html'),
  r('oauth', 'POST', '/auth/authorize', 'cookie', 'form', 'html', { sample: 'client_id=x&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb&state=s&response_type=code&scope=io.cozy.files&csrf_token=x' }),
  // Kernel: permissions.
  r('permissions', 'POST', '/permissions?codes=link', 'bearer', 'jsonapi', 'jsonapi', { sample: J({ data: { type: 'io.cozy.permissions', attributes: { permissions: { f: { type: 'io.cozy.files', verbs: ['GET'], values: ['x'] } } } } }) }),
  r('permissions', 'GET', '/permissions/self', 'bearer', 'none', 'jsonapi'),
  r('permissions', 'POST', '/permissions/exists', 'bearer', 'jsonapi', 'jsonapi', { sample: J({ data: [{ type: 'io.cozy.files', id: 'x' }] }) }),
  r('permissions', 'GET', '/permissions/doctype/{doctype}/shared-by-link', 'bearer', 'none', 'jsonapi'),
  r('permissions', 'GET', '/permissions/doctype/{doctype}/sharedByLink', 'bearer', 'none', 'jsonapi'),
  r('permissions', 'GET', '/permissions/{permission}', 'bearer', 'none', 'jsonapi'),
  r('permissions', 'PATCH', '/permissions/{permission}', 'bearer', 'jsonapi', 'jsonapi', { sample: J({ data: { type: 'io.cozy.permissions', attributes: { permissions: { g: { type: 'io.cozy.files', verbs: ['GET'] } } } } }) }),
  r('permissions', 'DELETE', '/permissions/{permission}', 'bearer', 'none', 'jsonapi', { destructive: true }),
  // Admin API (its own port).
  r('admin', 'GET', '/version', 'admin', 'none', 'jsonapi', { server: 'admin' }),
  r('admin', 'GET', '/plugins', 'admin', 'none', 'jsonapi', { server: 'admin' }),
  r('admin', 'GET', '/instances', 'admin', 'none', 'jsonapi', { server: 'admin' }),
  r('admin', 'GET', '/instances/count', 'admin', 'none', 'jsonapi', { server: 'admin' }),
  r('admin', 'POST', '/instances?Domain={domain}x', 'admin', 'json', 'jsonapi', { server: 'admin', sample: J({ Locale: 'en' }) }),
  r('admin', 'POST', '/instances/token?Domain={domain}&Audience=cli&Scope=io.cozy.files', 'admin', 'json', 'jsonapi', { server: 'admin' }),
  r('admin', 'POST', '/instances/oauth_client?Domain={domain}&RedirectURI=http%3A%2F%2F127.0.0.1%2Fcb&ClientName=f&SoftwareID=f', 'admin', 'json', 'jsonapi', { server: 'admin' }),
  r('admin', 'POST', '/instances/{domain}/passphrase', 'admin', 'json', 'jsonapi', { server: 'admin', destructive: true, sample: J({ Passphrase: 'a new passphrase' }) }),
  r('admin', 'GET', '/instances/{domain}', 'admin', 'none', 'jsonapi', { server: 'admin' }),
  r('admin', 'PATCH', '/instances/{domain}', 'admin', 'json', 'jsonapi', { server: 'admin', destructive: true, sample: J({ Locale: 'fr' }) }),
  r('admin', 'DELETE', '/instances/{domain}', 'admin', 'none', 'jsonapi', { server: 'admin', destructive: true }),
  r('admin', 'GET', '/instances/{domain}/fsck', 'admin', 'none', 'any', { server: 'admin' }),
  // Settings.
  r('settings', 'GET', '/settings/instance', 'bearer', 'none', 'jsonapi'),
  r('settings', 'PUT', '/settings/instance', 'bearer', 'jsonapi', 'jsonapi', { sample: J({ data: { type: 'io.cozy.settings', id: 'io.cozy.settings.instance', attributes: { public_name: 'Fuzz' } } }) }),
  r('settings', 'GET', '/settings/capabilities', 'bearer', 'none', 'jsonapi'),
  r('settings', 'GET', '/settings/clients', 'bearer', 'none', 'jsonapi'),
  r('settings', 'DELETE', '/settings/clients/{client}', 'bearer', 'none', 'jsonapi', { destructive: true }),
  r('settings', 'GET', '/settings/passphrase', 'cookie', 'none', 'jsonapi'),
  r('settings', 'POST', '/settings/passphrase', 'bearer', 'json', 'jsonapi', { sample: J({ register_token: 'x', passphrase: 'y', iterations: 100000 }) }),
  r('settings', 'PUT', '/settings/passphrase', 'cookie', 'json', 'jsonapi', { sample: J({ current_passphrase: 'wrong', new_passphrase: 'z', iterations: 100000 }) }),
  r('settings', 'POST', '/settings/passphrase/check', 'cookie', 'json', 'jsonapi', { sample: J({ passphrase: 'wrong' }) }),
  r('settings', 'GET', '/settings/hint', 'bearer', 'none', 'jsonapi'),
  r('settings', 'PUT', '/settings/hint', 'bearer', 'json', 'jsonapi', { sample: J({ hint: 'h' }) }),
  r('settings', 'GET', '/settings/sessions', 'bearer', 'none', 'jsonapi'),
  r('settings', 'GET', '/settings/sessions/current', 'cookie', 'none', 'jsonapi'),
  r('settings', 'GET', '/settings/device-passwords', 'bearer', 'none', 'jsonapi'),
  r('settings', 'POST', '/settings/device-passwords', 'bearer', 'jsonapi', 'jsonapi', { sample: J({ data: { type: 'io.cozy.auth.device_passwords', attributes: { label: 'x', scopes: ['files'] } } }) }),
  r('settings', 'DELETE', '/settings/device-passwords/{device}', 'bearer', 'none', 'jsonapi', { destructive: true }),
  r('settings', 'GET', '/settings/disk-usage', 'bearer', 'none', 'jsonapi'),
  // Data (CouchDB-like).
  r('data', 'GET', '/data/', 'bearer', 'none', 'couch', { open: true }),
  r('data', 'GET', '/data/_all_doctypes', 'bearer', 'none', 'couch'),
  r('data', 'GET', '/data/{doctype}/', 'bearer', 'none', 'couch'),
  r('data', 'PUT', '/data/{doctype}/', 'bearer', 'none', 'couch'),
  r('data', 'DELETE', '/data/{doctype}/', 'bearer', 'none', 'couch', { destructive: true }),
  r('data', 'POST', '/data/{doctype}/', 'bearer', 'json', 'couch', { sample: J({ title: 'x', n: 1 }) }),
  r('data', 'GET', '/data/{doctype}/_all_docs?include_docs=true', 'bearer', 'none', 'couch'),
  r('data', 'POST', '/data/{doctype}/_all_docs', 'bearer', 'json', 'couch', { sample: J({ keys: ['a', 'b'] }) }),
  r('data', 'GET', '/data/{doctype}/_normal_docs', 'bearer', 'none', 'couch'),
  r('data', 'POST', '/data/{doctype}/_index', 'bearer', 'json', 'couch', { sample: J({ index: { fields: ['title'] } }) }),
  r('data', 'POST', '/data/{doctype}/_find', 'bearer', 'json', 'couch', { sample: J({ selector: { title: { $gt: null } }, limit: 10 }) }),
  r('data', 'POST', '/data/{doctype}/_bulk_docs', 'bearer', 'json', 'couch', { sample: J({ docs: [{ title: 'bulk' }] }) }),
  r('data', 'POST', '/data/{doctype}/_bulk_get', 'bearer', 'json', 'couch', { sample: J({ docs: [{ id: 'x' }] }) }),
  r('data', 'GET', '/data/{doctype}/_changes', 'bearer', 'none', 'couch'),
  r('data', 'POST', '/data/{doctype}/_changes', 'bearer', 'json', 'couch', { sample: J({ doc_ids: ['x'] }) }),
  r('data', 'GET', '/data/{doctype}/_design/{ddoc}', 'bearer', 'none', 'couch'),
  r('data', 'DELETE', '/data/{doctype}/_design/{ddoc}', 'bearer', 'none', 'couch', { destructive: true }),
  r('data', 'POST', '/data/{doctype}/_design/{ddoc}/copy', 'bearer', 'none', 'couch'),
  r('data', 'GET', '/data/{doctype}/_design_docs', 'bearer', 'none', 'couch'),
  r('data', 'POST', '/data/{doctype}/_revs_diff', 'bearer', 'json', 'couch', { sample: J({ x: ['1-a'] }) }),
  r('data', 'POST', '/data/{doctype}/_ensure_full_commit', 'bearer', 'none', 'couch'),
  r('data', 'GET', '/data/{doctype}/_local/{doc}', 'bearer', 'none', 'couch'),
  r('data', 'PUT', '/data/{doctype}/_local/{doc}', 'bearer', 'json', 'couch', { sample: J({ x: 1 }) }),
  r('data', 'GET', '/data/{doctype}/{doc}', 'bearer', 'none', 'couch'),
  r('data', 'PUT', '/data/{doctype}/{doc}', 'bearer', 'json', 'couch', { sample: J({ title: 'y' }) }),
  r('data', 'DELETE', '/data/{doctype}/{doc}', 'bearer', 'none', 'couch', { destructive: true }),
  r('data', 'GET', '/data/{doctype}/{doc}/relationships/references', 'bearer', 'none', 'couch'),
  r('data', 'POST', '/data/{doctype}/{doc}/relationships/references', 'bearer', 'jsonapi', 'couch', { sample: J({ data: [{ type: 'io.cozy.files', id: 'x' }] }) }),
  r('data', 'DELETE', '/data/{doctype}/{doc}/relationships/references', 'bearer', 'jsonapi', 'couch', { sample: J({ data: [{ type: 'io.cozy.files', id: 'x' }] }) }),
  r('data', 'GET', '/data/{doctype}/{doc}/relationships/not_synchronizing', 'bearer', 'none', 'couch'),
  r('data', 'POST', '/data/{doctype}/{doc}/relationships/not_synchronizing', 'bearer', 'jsonapi', 'couch', { sample: J({ data: [{ type: 'io.cozy.files', id: 'x' }] }) }),
  // Files (JSON:API).
  r('files', 'POST', '/files/?Type=file&Name=up.txt', 'bearer', 'bytes', 'jsonapi', { sample: 'hello' }),
  r('files', 'POST', '/files/{dir}?Type=directory&Name=sub', 'bearer', 'none', 'jsonapi'),
  r('files', 'PATCH', '/files/', 'bearer', 'jsonapi', 'jsonapi', { sample: J({ data: [{ type: 'io.cozy.files', id: 'x', attributes: { dir_id: 'y' } }] }) }),
  r('files', 'GET', '/files/metadata?Path=/fuzz', 'bearer', 'none', 'jsonapi'),
  r('files', 'PATCH', '/files/metadata?Path=/fuzz/victim.txt', 'bearer', 'jsonapi', 'jsonapi', { sample: FILE_ATTRS }),
  r('files', 'GET', '/files/trash', 'bearer', 'none', 'jsonapi'),
  r('files', 'DELETE', '/files/trash', 'bearer', 'none', 'jsonapi', { destructive: true }),
  r('files', 'POST', '/files/trash/{file}', 'bearer', 'none', 'jsonapi', { destructive: true }),
  r('files', 'DELETE', '/files/trash/{file}', 'bearer', 'none', 'jsonapi', { destructive: true }),
  r('files', 'GET', '/files/download?Path=/fuzz/victim.txt', 'bearer', 'none', 'jsonapi'),
  r('files', 'GET', '/files/download/{file}', 'bearer', 'none', 'jsonapi'),
  r('files', 'GET', '/files/download/{file}/{version}', 'bearer', 'none', 'jsonapi'),
  r('files', 'POST', '/files/downloads?Id={file}', 'bearer', 'none', 'jsonapi'),
  r('files', 'GET', '/files/downloads/{secret}/victim.txt', 'none', 'none', 'jsonapi', { open: true }),
  r('files', 'POST', '/files/revert/{file}/{version}', 'bearer', 'none', 'jsonapi'),
  r('files', 'DELETE', '/files/versions', 'bearer', 'none', 'jsonapi', { destructive: true }),
  r('files', 'POST', '/files/upload/metadata', 'bearer', 'jsonapi', 'jsonapi', { sample: J({ data: { type: 'io.cozy.files.metadata', attributes: { category: 'report' } } }) }),
  r('files', 'POST', '/files/_find', 'bearer', 'json', 'jsonapi', { sample: J({ selector: { type: 'file' }, limit: 5 }) }),
  r('files', 'POST', '/files/_all_docs', 'bearer', 'json', 'jsonapi', { sample: J({ keys: ['x'] }) }),
  r('files', 'GET', '/files/_changes', 'bearer', 'none', 'jsonapi'),
  r('files', 'GET', '/files/fsck', 'bearer', 'none', 'jsonapi'),
  r('files', 'GET', '/files/fsck/stream', 'bearer', 'none', 'jsonapi'),
  r('files', 'POST', '/files/archive', 'bearer', 'jsonapi', 'jsonapi', { sample: J({ data: { type: 'io.cozy.archives', attributes: { name: 'a', files: ['/fuzz/victim.txt'] } } }) }),
  r('files', 'GET', '/files/archive/{secret}/a.zip', 'none', 'none', 'jsonapi', { open: true }),
  r('files', 'GET', '/files/{file}', 'bearer', 'none', 'jsonapi'),
  r('files', 'HEAD', '/files/{file}', 'bearer', 'none', 'jsonapi'),
  r('files', 'PATCH', '/files/{file}', 'bearer', 'jsonapi', 'jsonapi', { sample: FILE_ATTRS }),
  r('files', 'DELETE', '/files/{file}', 'bearer', 'none', 'jsonapi', { destructive: true }),
  r('files', 'POST', '/files/{dir}?Type=file&Name=new.txt', 'bearer', 'bytes', 'jsonapi', { sample: 'content' }),
  r('files', 'PUT', '/files/{file}', 'bearer', 'bytes', 'jsonapi', { sample: 'new content' }),
  r('files', 'GET', '/files/{dir}/relationships/contents', 'bearer', 'none', 'jsonapi'),
  r('files', 'GET', '/files/{file}/relationships/referenced_by', 'bearer', 'none', 'jsonapi'),
  r('files', 'POST', '/files/{file}/relationships/referenced_by', 'bearer', 'jsonapi', 'jsonapi', { sample: J({ data: [{ type: 'io.cozy.fuzzdocs', id: 'x' }] }) }),
  r('files', 'DELETE', '/files/{file}/relationships/referenced_by', 'bearer', 'jsonapi', 'jsonapi', { sample: J({ data: [{ type: 'io.cozy.fuzzdocs', id: 'x' }] }) }),
  r('files', 'GET', '/files/{file}/relationships/not_synchronized_on', 'bearer', 'none', 'jsonapi'),
  r('files', 'POST', '/files/{dir}/relationships/not_synchronized_on', 'bearer', 'jsonapi', 'jsonapi', { sample: J({ data: [{ type: 'io.cozy.oauth.clients', id: 'x' }] }) }),
  r('files', 'GET', '/files/{dir}/size', 'bearer', 'none', 'jsonapi'),
  r('files', 'POST', '/files/{file}/copy', 'bearer', 'none', 'jsonapi'),
  r('files', 'POST', '/files/{file}/versions', 'bearer', 'jsonapi', 'jsonapi'),
  r('files', 'GET', '/files/{file}/thumbnails/{secret}/small', 'none', 'none', 'jsonapi', { open: true }),
  r('files', 'PATCH', '/files/{file}/{version}', 'bearer', 'jsonapi', 'jsonapi', { sample: J({ data: { type: 'io.cozy.files.versions', attributes: { tags: ['x'] } } }) }),
  r('files', 'DELETE', '/files/{file}/{version}', 'bearer', 'none', 'jsonapi', { destructive: true }),
  // WebDAV.
  r('dav', 'OPTIONS', '/dav/files/', 'basic', 'none', 'dav'),
  r('dav', 'PROPFIND', '/dav/files/{davdir}', 'basic', 'xml', 'dav', { sample: PROPFIND }),
  r('dav', 'GET', '/dav/files/{davfile}', 'basic', 'none', 'dav'),
  r('dav', 'HEAD', '/dav/files/{davfile}', 'basic', 'none', 'dav'),
  r('dav', 'PUT', '/dav/files/{davfile}', 'basic', 'bytes', 'dav', { sample: 'dav content' }),
  r('dav', 'DELETE', '/dav/files/{davfile}', 'basic', 'none', 'dav', { destructive: true }),
  r('dav', 'PROPPATCH', '/dav/files/{davfile}', 'basic', 'xml', 'dav', { sample: '<?xml version="1.0"?><d:propertyupdate xmlns:d="DAV:" xmlns:z="urn:z"><d:set><d:prop><z:a>1</z:a></d:prop></d:set></d:propertyupdate>' }),
  r('dav', 'MKCOL', '/dav/files/{davdir}/newdir', 'basic', 'none', 'dav'),
  r('dav', 'COPY', '/dav/files/{davfile}', 'basic', 'none', 'dav'),
  r('dav', 'MOVE', '/dav/files/{davfile}', 'basic', 'none', 'dav', { destructive: true }),
  r('dav', 'LOCK', '/dav/files/{davfile}', 'basic', 'xml', 'dav', { sample: '<?xml version="1.0"?><d:lockinfo xmlns:d="DAV:"><d:lockscope><d:exclusive/></d:lockscope><d:locktype><d:write/></d:locktype></d:lockinfo>' }),
  r('dav', 'UNLOCK', '/dav/files/{davfile}', 'basic', 'none', 'dav'),
  // Nextcloud-compatible WebDAV and OCS.
  r('nextcloud', 'PROPFIND', '/remote.php/webdav/{davdir}', 'basic', 'xml', 'any', { sample: PROPFIND }),
  r('nextcloud', 'GET', '/remote.php/webdav/{davfile}', 'basic', 'none', 'any'),
  r('nextcloud', 'PUT', '/remote.php/dav/files/{user}/{davfile}', 'basic', 'bytes', 'any', { sample: 'nc' }),
  r('nextcloud', 'PROPFIND', '/remote.php/dav/files/{user}/{davdir}', 'basic', 'xml', 'any', { sample: PROPFIND }),
  r('nextcloud', 'MKCOL', '/remote.php/dav/uploads/{user}/upload-{token}', 'basic', 'none', 'any'),
  r('nextcloud', 'PUT', '/remote.php/dav/uploads/{user}/upload-{token}/00001', 'basic', 'bytes', 'any', { sample: 'part' }),
  r('nextcloud', 'MOVE', '/remote.php/dav/uploads/{user}/upload-{token}/.file', 'basic', 'none', 'any'),
  r('nextcloud', 'GET', '/ocs/v1.php/cloud/capabilities', 'basic', 'none', 'any', { open: true }),
  r('nextcloud', 'GET', '/ocs/v2.php/cloud/user?format=json', 'basic', 'none', 'any'),
  r('nextcloud', 'GET', '/status.php', 'none', 'none', 'any', { open: true }),
  r('nextcloud', 'POST', '/index.php/login/v2', 'none', 'form', 'any', { open: true }),
  r('nextcloud', 'POST', '/login/v2/poll', 'none', 'form', 'any', { open: true, sample: 'token=abc' }),
  r('nextcloud', 'GET', '/login/v2/flow/{token}', 'cookie', 'none', 'any', { open: true }),
  r('nextcloud', 'POST', '/index.php/login/v2/flow/{token}', 'cookie', 'form', 'any', { open: true, sample: 'csrf_token=x' }),
  r('nextcloud', 'GET', '/login/flow', 'cookie', 'none', 'any', { open: true }),
  r('nextcloud', 'POST', '/index.php/login/flow/{token}', 'cookie', 'form', 'any', { open: true }),
  // CalDAV / CardDAV.
  r('sync', 'PROPFIND', '/.well-known/caldav', 'basic', 'xml', 'dav', { open: true, sample: PROPFIND }),
  r('sync', 'GET', '/.well-known/carddav', 'basic', 'none', 'dav', { open: true }),
  r('sync', 'OPTIONS', '/sync/', 'basic', 'none', 'dav', { open: true }),
  r('sync', 'PROPFIND', '/sync/principal/', 'basic', 'xml', 'dav', { sample: PROPFIND }),
  r('sync', 'PROPFIND', '/sync/calendars/', 'basic', 'xml', 'dav', { sample: PROPFIND }),
  r('sync', 'MKCALENDAR', '/sync/calendars/{cal}x/', 'basic', 'xml', 'dav'),
  r('sync', 'PROPFIND', '/sync/calendars/{cal}/', 'basic', 'xml', 'dav', { sample: PROPFIND }),
  r('sync', 'PROPPATCH', '/sync/calendars/{cal}/', 'basic', 'xml', 'dav', { sample: '<?xml version="1.0"?><d:propertyupdate xmlns:d="DAV:"><d:set><d:prop><d:displayname>x</d:displayname></d:prop></d:set></d:propertyupdate>' }),
  r('sync', 'REPORT', '/sync/calendars/{cal}/', 'basic', 'xml', 'dav', { sample: REPORT }),
  r('sync', 'GET', '/sync/calendars/{cal}/{event}', 'basic', 'none', 'dav'),
  r('sync', 'PUT', '/sync/calendars/{cal}/{event}', 'basic', 'ical', 'dav', { sample: EVENT }),
  r('sync', 'DELETE', '/sync/calendars/{cal}/{event}', 'basic', 'none', 'dav', { destructive: true }),
  r('sync', 'POST', '/sync/calendars/{cal}/', 'basic', 'ical', 'dav', { sample: EVENT }),
  r('sync', 'PROPFIND', '/sync/contacts/{book}/', 'basic', 'xml', 'dav', { sample: PROPFIND }),
  r('sync', 'REPORT', '/sync/contacts/{book}/', 'basic', 'xml', 'dav', { sample: '<?xml version="1.0"?><d:sync-collection xmlns:d="DAV:"><d:sync-token/><d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>' }),
  r('sync', 'PUT', '/sync/contacts/{book}/{card}', 'basic', 'vcard', 'dav', { sample: CARD }),
  r('sync', 'GET', '/sync/contacts/{book}/{card}', 'basic', 'none', 'dav'),
  r('sync', 'MKCOL', '/sync/contacts/{book}x/', 'basic', 'xml', 'dav'),
  // Realtime (HTTP side; the websocket gets its own frames).
  r('realtime', 'GET', '/realtime/', 'bearer', 'none', 'jsonapi'),
  r('realtime', 'POST', '/realtime/{doctype}/{doc}', 'bearer', 'json', 'jsonapi', { sample: J({ data: { type: 'io.cozy.fuzzdocs', id: 'x', attributes: { a: 1 } } }) }),
  // Jobs and triggers.
  r('jobs', 'POST', '/jobs/queue/{worker}', 'bearer', 'jsonapi', 'jsonapi', { sample: J({ data: { attributes: { arguments: { a: 1 } } } }) }),
  r('jobs', 'GET', '/jobs/queue/{worker}', 'bearer', 'none', 'jsonapi'),
  r('jobs', 'DELETE', '/jobs/purge', 'bearer', 'none', 'jsonapi', { destructive: true }),
  r('jobs', 'POST', '/jobs/clean', 'bearer', 'none', 'jsonapi'),
  r('jobs', 'POST', '/jobs/triggers', 'bearer', 'jsonapi', 'jsonapi', { sample: J({ data: { attributes: { type: '@in', arguments: '1h', worker: 'log', message: {} } } }) }),
  r('jobs', 'GET', '/jobs/triggers', 'bearer', 'none', 'jsonapi'),
  r('jobs', 'GET', '/jobs/triggers/{trigger}', 'bearer', 'none', 'jsonapi'),
  r('jobs', 'PATCH', '/jobs/triggers/{trigger}', 'bearer', 'jsonapi', 'jsonapi', { sample: J({ data: { attributes: { arguments: '2h' } } }) }),
  r('jobs', 'DELETE', '/jobs/triggers/{trigger}', 'bearer', 'none', 'jsonapi', { destructive: true }),
  r('jobs', 'GET', '/jobs/triggers/{trigger}/state', 'bearer', 'none', 'jsonapi'),
  r('jobs', 'GET', '/jobs/triggers/{trigger}/jobs', 'bearer', 'none', 'jsonapi'),
  r('jobs', 'POST', '/jobs/triggers/{trigger}/launch', 'bearer', 'none', 'jsonapi'),
  r('jobs', 'POST', '/jobs/webhooks/{trigger}', 'none', 'json', 'jsonapi', { open: true, sample: J({ a: 1 }) }),
  r('jobs', 'POST', '/jobs/external/{worker}/claim', 'bearer', 'json', 'jsonapi'),
  r('jobs', 'POST', '/jobs/external/{worker}/{job}/heartbeat', 'bearer', 'json', 'jsonapi'),
  r('jobs', 'POST', '/jobs/external/{worker}/{job}/finish', 'bearer', 'json', 'jsonapi', { sample: J({ result: 'ok' }) }),
  r('jobs', 'POST', '/jobs/external/{worker}/{job}/fail', 'bearer', 'json', 'jsonapi', { sample: J({ error: 'x' }) }),
  r('jobs', 'GET', '/jobs/{job}', 'bearer', 'none', 'jsonapi'),
  r('jobs', 'PATCH', '/jobs/{job}', 'bearer', 'jsonapi', 'jsonapi', { sample: J({ data: { attributes: { state: 'done' } } }) }),
  // Notifications.
  r('notifications', 'POST', '/notifications', 'bearer', 'jsonapi', 'jsonapi', { sample: J({ data: { type: 'io.cozy.notifications', attributes: { category: 'fuzz', title: 't', message: 'm' } } }) }),
  r('notifications', 'GET', '/notifications/preferences', 'bearer', 'none', 'jsonapi'),
  r('notifications', 'PUT', '/notifications/preferences', 'bearer', 'json', 'jsonapi', { sample: J({ data: { attributes: { fuzz: { email: false } } } }) }),
  // The contributed example plugin.
  r('hello', 'GET', '/hello/', 'bearer', 'none', 'jsonapi', { open: true }),
];
