import { createHmac } from 'node:crypto';
import type { HostileRequest } from './hostile-http.ts';
import type { AuthKind, BodyKind, IdKind, RouteTemplate } from './hostile-routes.ts';

/** A tenant as the batch sees it: its Host, credentials and the ids of its own documents. */
export interface Tenant {
  host: string;
  /** A CLI token over every doctype the routes touch. */
  token: string;
  /** An OAuth access token of a registered client. */
  oauthToken: string;
  /** `Basic ...` with a device password for files, calendars and contacts. */
  basic: string;
  cookie: string;
  spareCookie: string;
  /** The registration access token of the spare OAuth client (`ids.client`). */
  regToken: string;
  ids: Record<IdKind, string>;
  /** Ids of things the destructive routes may destroy. */
  spare: Record<IdKind, string>;
}

export interface CorpusContext {
  attacker: Tenant;
  victim: Tenant;
  adminBasic: string;
}

/** mulberry32: a tiny seeded generator, so every run sends the same batch and a failure can be replayed. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rng = () => number;
const pick = <T>(rng: Rng, list: readonly T[]): T => list[Math.floor(rng() * list.length)] as T;

/** Bytes as a latin1 string: Node writes request heads as latin1, so this puts the raw UTF-8 bytes on the wire. */
const rawUtf8 = (s: string) => Buffer.from(s, 'utf8').toString('latin1');

const deepArray = (n: number) => '['.repeat(n) + ']'.repeat(n);
const deepObject = (n: number, key = 'a') => `{"${key}":`.repeat(n) + '1' + '}'.repeat(n);
const deepAnd = (n: number) => '{"$and":['.repeat(n) + '{"a":1}' + ']}'.repeat(n);
const deepXml = (n: number) => '<?xml version="1.0"?><d:propfind xmlns:d="DAV:">' + '<d:prop>'.repeat(n) + '</d:prop>'.repeat(n) + '</d:propfind>';

const MALFORMED_JSON = [
  '{', '{"data":', 'nul', '{"a":1,}', '\u0000', "{'a':1}", '[1,2', '{"a":1}{"b":2}', '\ufeff{"a":1}', '', ' ', '{"a":"\\x41"}',
  '{"a":"\\ud800"}', '{"a":01}', '{"a":NaN}', '{"a":Infinity}', '{"a":undefined}', '{"a" 1}', '{"a":"b\n"}', '\u00ff\u00fe{',
];
const WRONG_TYPES = [
  '{"data":[]}', '{"data":"x"}', '{"data":{"type":7,"id":{},"attributes":"x"}}', '{"data":{"attributes":null}}', 'null', 'true', '"str"', '123',
  '{"data":{"type":"io.cozy.files","attributes":{"name":12,"dir_id":[],"tags":"x","executable":"yes","updated_at":"never","size":"big"}}}',
  '{"selector":"x"}', '{"selector":{"$foo":1}}', '{"selector":{"a":{"$regex":"("}}}', '{"selector":{"a":{"$in":"x"}}}', '{"docs":"x"}',
  '{"docs":[1,null,"x",[]]}', '{"keys":[1,null,{}]}', '{"keys":"x"}', '{"fields":[1,{}]}', '{"limit":"x","skip":{}}', '{"sort":[{"a":"sideways"}]}',
  '{"sort":"a"}', '{"index":{"fields":{}}}', '{"index":{"fields":[{"a":"up"}]}}', '{"_id":123}', '{"_rev":"garbage"}', '{"_id":"_design/x"}',
  '{"_id":"_local/x"}', '{"_deleted":"yes"}', '{"_attachments":{"a":{"data":"!!"}}}',
  '{"data":{"attributes":{"type":"@cron","arguments":5,"worker":{}}}}', '{"data":{"attributes":{"type":"@every","arguments":"-1s","worker":"log"}}}',
  '{"data":{"attributes":{"type":"@at","arguments":"yesterday","worker":"log"}}}', '{"data":{"attributes":{"type":"@event","arguments":"io.cozy.files:CREATED:!!","worker":"log"}}}',
  '{"data":{"attributes":{"type":"@cron","arguments":"* * * * * * * *","worker":"log"}}}', '{"data":{"attributes":{"type":"@webhook","worker":"log","message":"x"}}}',
  '{"redirect_uris":"x","client_name":5}', '{"redirect_uris":["javascript:alert(1)"],"client_name":"x","software_id":"y"}', '{"redirect_uris":[],"client_name":"","software_id":""}',
  '{"data":{"attributes":{"permissions":"all"}}}', '{"data":{"attributes":{"permissions":{"x":{"type":"io.cozy.files","verbs":"GET"}}}}}',
  '{"data":{"attributes":{"permissions":{"x":{"type":"*","verbs":["ALL"]}}}}}', '{"data":{"attributes":{"permissions":{"x":{"type":"io.cozy.files","selector":"__proto__","values":[1]}}}}}',
  '{"data":{"attributes":{"scopes":"files","label":[]}}}', '{"data":{"attributes":{"scopes":[null,{},"admin"]}}}', '{"data":[{"type":"io.cozy.files","id":null}]}',
  '{"data":[{"type":null,"id":"x"},{}]}', '{"passphrase":[],"iterations":"x","register_token":5}', '{"passphrase":"a","iterations":-1,"register_token":"x"}',
  '{"current_passphrase":{},"new_passphrase":null}', '{"hint":{}}', '{"hint":"' + 'h'.repeat(5000) + '"}', '{"data":{"attributes":{"category":[],"title":{},"message":5}}}',
  '{"data":{"attributes":{"arguments":"x","options":{"max_exec_count":-5,"timeout":"never","priority":1e400}}}}', '{"result":{},"error":[]}',
  '{"data":{"attributes":{"state":"running","error":5}}}', '{"data":{"attributes":{"name":"a/b","dir_id":"io.cozy.files.root-dir"}}}',
  '{"data":{"attributes":{"name":"..","dir_id":"io.cozy.files.trash-dir"}}}', '{"data":{"attributes":{"dir_id":"io.cozy.files.root-dir","name":""}}}',
  '{"data":{"type":"io.cozy.archives","attributes":{"files":"x","ids":[5]}}}', '{"data":{"type":"io.cozy.archives","attributes":{"files":["../../etc/passwd"]}}}',
  '{"doc_ids":"x","since":{}}', '{"x":"1-a"}', '{"x":[5,null]}', '{"Locale":5,"DiskQuota":"lots","Domain":{}}', '{"DiskQuota":-1}', '{"DiskQuota":1e309}',
];
const HUGE_NUMBERS = [
  '{"limit":1e309}', '{"skip":-1e308,"limit":-1}', '{"limit":9007199254740993}', '{"limit":-0}', `{"limit":${'9'.repeat(5000)}}`,
  '{"data":{"attributes":{"size":1e309,"updated_at":1e309}}}', '{"data":{"attributes":{"options":{"timeout":1e309,"max_exec_count":1e309}}}}',
  '{"iterations":1e309,"passphrase":"x","register_token":"y"}', '{"iterations":4294967297,"passphrase":"x","register_token":"y"}',
  '{"DiskQuota":1e309}', '{"selector":{"a":{"$gt":1e309}},"limit":1e309}', '{"keys":[1e309,-1e309]}', '{"a":1e-400}', `[${'1,'.repeat(20000)}1]`,
  '{"data":{"attributes":{"arguments":1e309}}}', '{"since":1e309,"limit":1e309}',
];
const DEEP = [
  deepArray(10_000), deepObject(10_000), deepAnd(3_000), `{"selector":${deepAnd(3_000)}}`, `{"data":{"attributes":${deepObject(10_000)}}}`,
  `{"data":${deepArray(10_000)}}`, `{"selector":{"a":${deepObject(10_000, '$not')}}}`, `{"docs":[${deepObject(10_000)}]}`,
  `{"data":{"attributes":{"permissions":{"x":${deepObject(5_000)}}}}}`, `{"selector":{"$or":[${deepAnd(2_000)}]}}`,
];
const PROTO = [
  '{"__proto__":{"isAdmin":true}}', '{"constructor":{"prototype":{"polluted":1}}}', '{"data":{"attributes":{"__proto__":{"x":1}}}}',
  '{"selector":{"__proto__":1}}', '{"data":{"type":"__proto__","id":"constructor","attributes":{"constructor":{"prototype":{"p":1}}}}}',
  '{"docs":[{"__proto__":{"_id":"x"}}]}', '{"hasOwnProperty":1,"toString":2,"valueOf":"x"}', '{"data":{"attributes":{"toString":"x","hasOwnProperty":5}}}',
  '{"__proto__":[]}', '{"index":{"fields":["__proto__","constructor"]}}', '{"selector":{"constructor":{"$exists":true}}}',
];
const ARRAYS = ['[]', '[{}]', '[{"data":{}}]', '[[]]', '{"data":{"attributes":[]}}', '{"data":{"relationships":[]}}', '{"data":[[1]]}', '[null]', '{"selector":[]}', '{"data":{"attributes":{"tags":[[],{}]}}}'];

const HOSTILE_XML = [
  '<d:propfind', '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;"><!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">]><d:propfind xmlns:d="DAV:"><d:prop><d:x>&e;&e;&e;</d:x></d:prop></d:propfind>',
  '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY x SYSTEM "file:///etc/passwd">]><d:propfind xmlns:d="DAV:"><d:prop><d:displayname>&x;</d:displayname></d:prop></d:propfind>',
  deepXml(10_000), '<?xml version="1.0"?><d:propfind xmlns:d="urn:not-dav"><d:allprop/></d:propfind>', '<?xml version="1.0" encoding="UTF-16"?><a/>',
  '<?xml version="1.0"?><propfind><prop><getetag/></prop></propfind>', '<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop>' + '<d:x/>'.repeat(20_000) + '</d:prop></d:propfind>',
  '\u00ff\u00fe<\u0000a\u0000', '<?xml version="1.0"?><d:propertyupdate xmlns:d="DAV:"><d:set><d:prop><d:displayname>' + 'x'.repeat(100_000) + '</d:displayname></d:prop></d:set></d:propertyupdate>',
  '<?xml version="1.0"?><d:propertyupdate xmlns:d="DAV:"><d:remove><d:prop><d:resourcetype/><d:getetag/></d:prop></d:remove></d:propertyupdate>',
  '<?xml version="1.0"?><c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT"><c:time-range start="garbage" end="99999999T999999Z"/></c:comp-filter></c:comp-filter></c:filter></c:calendar-query>',
  '<?xml version="1.0"?><c:calendar-multiget xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:href>http://[::1</d:href><d:href>/sync/calendars/../../x</d:href><d:href>%</d:href></c:calendar-multiget>',
  '<?xml version="1.0"?><d:sync-collection xmlns:d="DAV:"><d:sync-token>garbage</d:sync-token><d:sync-level>infinite</d:sync-level><d:limit><d:nresults>-1</d:nresults></d:limit></d:sync-collection>',
  '<?xml version="1.0"?><d:lockinfo xmlns:d="DAV:"><d:lockscope/><d:locktype/><d:owner>' + '<x>'.repeat(5_000) + '</d:owner></d:lockinfo>',
  '<?xml version="1.0"?><c:free-busy-query xmlns:c="urn:ietf:params:xml:ns:caldav"><c:time-range start="20240101T000000Z" end="30240101T000000Z"/></c:free-busy-query>',
  '<?xml version="1.0"?><c:mkcalendar xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:set><d:prop><c:calendar-timezone>BEGIN:VCALENDAR\nBEGIN:VTIMEZONE\nTZID:' + 'Z'.repeat(5000) + '\nEND:VTIMEZONE\nEND:VCALENDAR</c:calendar-timezone><c:supported-calendar-component-set><c:comp name="__proto__"/></c:supported-calendar-component-set></d:prop></d:set></c:mkcalendar>',
];
const HOSTILE_ICAL = [
  'BEGIN:VCALENDAR\r\n', 'garbage', 'BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:garbage\r\nRRULE:FREQ=SECONDLY;COUNT=99999999999\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n',
  'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART:20240101T000000Z\r\nRRULE:FREQ=SECONDLY;INTERVAL=0\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n',
  'BEGIN:VCALENDAR\r\n' + 'BEGIN:VEVENT\r\n'.repeat(5000) + 'END:VCALENDAR\r\n', 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:../../x\r\nDTSTART;TZID=\u0000:20240101T000000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n',
  'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:a\r\nEND:VEVENT\r\nBEGIN:VTODO\r\nUID:b\r\nEND:VTODO\r\nEND:VCALENDAR\r\n',
  'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART:20240101T000000Z\r\nDTEND:19000101T000000Z\r\nEXDATE:notadate\r\nRECURRENCE-ID:never\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n',
];
const HOSTILE_VCARD = [
  'BEGIN:VCARD\r\n', 'garbage', 'BEGIN:VCARD\r\nVERSION:9.9\r\nEND:VCARD\r\n', 'BEGIN:VCARD\r\nVERSION:3.0\r\nUID:\u0000\r\nFN:' + 'x'.repeat(100_000) + '\r\nEND:VCARD\r\n',
  'BEGIN:VCARD\r\nVERSION:4.0\r\nUID:x\r\nFN:x\r\nPHOTO;ENCODING=b:!!!notbase64\r\nBDAY:99999999\r\nEND:VCARD\r\n', 'BEGIN:VCARD\r\nVERSION:3.0\r\n' + 'BEGIN:VCARD\r\n'.repeat(3000) + 'END:VCARD\r\n',
  'BEGIN:VCARD\r\nVERSION:3.0\r\nUID:a\r\nFN:a\r\nEND:VCARD\r\nBEGIN:VCARD\r\nVERSION:3.0\r\nUID:b\r\nFN:b\r\nEND:VCARD\r\n',
];
const HOSTILE_FORMS = [
  'a=%zz&b=%', '=&=&&&', 'passphrase[]=a&passphrase[]=b', 'grant_type=authorization_code&code[]=x', 'x=' + 'y'.repeat(100_000), '__proto__[a]=1&constructor[prototype][b]=2',
  'grant_type=refresh_token&refresh_token=%00&client_id=%FF', 'redirect=javascript%3Aalert(1)&passphrase=x&csrf_token=y', 'token=&token=&token=', '\u0000\u00ff',
  'grant_type=authorization_code&code=x&client_id=y&client_secret=z&code_verifier=' + 'v'.repeat(10_000), 'scope=' + '%20io.cozy.files'.repeat(2000),
];

/** Hostile path segments (already in their on-the-wire form). */
const SEGMENTS = [
  '%00', '%', '%zz', '%2e%2e', '..', '../..', '%2e%2e%2f%2e%2e%2fetc%2fpasswd', '%C0%AE%C0%AE', '%ED%A0%80', '%FF%FE', rawUtf8('💥漢字'),
  '%E2%80%AE', 'a'.repeat(1000), '%252e%252e', '.', '%20', '%0d%0aX-Injected:%201', ';', '%5c..%5c..', '*', '$', '_design', '_all_docs',
  'io.cozy.files.root-dir', 'io.cozy.files.trash-dir', '%2F', 'con', rawUtf8('e\u0301\u200b'), '%F0%9F%92', '~', '%3Cscript%3E', '..%00', '%7B%7D',
  'x'.repeat(20_000),
];
/** Hostile ids: garbage, lookalikes and the other tenant's real ids (filled in per tenant). */
const IDS = ['', 'x', '0', '-1', 'null', 'undefined', '%00', 'a'.repeat(1000), '_design%2Fx', 'io.cozy.files.root-dir', 'io.cozy.files.trash-dir', '%7B%7D', '[object Object]', '%2F', '..', '0000000000000000000000000000000%21'];
const QUERIES = [
  'page[limit]=-1', 'page[limit]=1e309', 'page[limit]=NaN', 'page[limit]=1&page[limit]=2', 'page[cursor]=%FF%FE', 'page[cursor]=' + 'z'.repeat(5000),
  'limit=-1', 'limit=1e309', 'skip=1e309', 'skip=-5', 'since=garbage', 'include_docs=maybe', 'descending=2', 'keys=notjson', 'keys=%5B1%2Cnull%5D',
  'startkey=%7B', 'endkey=%5B', 'Type=weird', 'Type=file&Name=..', 'Type=directory&Name=%00', 'Name=a%2Fb', 'Path=..%2F..%2Fetc', 'Path=', 'Path[]=a',
  'q=' + 'q'.repeat(8000), Array.from({ length: 300 }, (_, i) => `k${i}=${i}`).join('&'), '%', 'a=%zz', 'a[b][c][d][e][f][g][h][i][j][k]=1',
  'page[limit]=' + '9'.repeat(400), 'Tags=a&Tags[]=b', 'Size=-5', 'Size=1e309', 'MD5=!!!', 'UpdatedAt=notadate', 'CreatedAt=9999999-99',
  'Encoding=zzz', 'ExecutableFlag=maybe', 'fields=__proto__', 'sort=-', '__proto__[x]=1&constructor[prototype][y]=1', 'Id=%00&Id=x',
  'feed=continuous', 'feed=longpoll&timeout=-1', 'heartbeat=1e309', 'filter=_view&view=%00', 'style=all_docs&limit=0', 'conflicts=x&revs=x',
  'Versions=x', 'DryRun=maybe', 'state=' + '%FF'.repeat(100), 'format=%00', 'format=xml', 'codes=' + 'a,'.repeat(500), 'ttl=-1', 'ttl=1e309',
];
const CONTENT_TYPES = [
  'text/plain', 'application/xml', 'multipart/form-data', 'multipart/form-data; boundary=', 'application/json; charset=utf-16',
  'application/x-www-form-urlencoded', 'garbage/;;;', 'application/vnd.api+json; ext=bulk', 'image/png', 'application/json; charset=bogus',
  ';', 'text/calendar; charset="', 'application/octet-stream', 'application/json, text/plain', rawUtf8('application/💥'),
];
const ACCEPTS = [
  'application/x-nope', 'text/html', '*/*;q=NaN', 'application/vnd.api+json; q=0', 'a'.repeat(5000), 'application/json, text/html;q=2', 'image/*',
  'text/calendar; version=9', 'text/vcard; version=9.0', 'application/xml;q=1, */*;q=0', ';;;,,,', rawUtf8('text/💥'),
];
const RANGES = [
  'bytes=999999999-', 'bytes=5-1', 'bytes=-0', 'bytes=a-b', Array.from({ length: 500 }, (_, i) => `${i}-${i}`).join(',').replace(/^/, 'bytes='),
  'items=0-1', 'bytes=-999999999999999999999', 'bytes=1e3-2e3', 'bytes=0-0,-1', 'bytes =0-1', 'bytes=18446744073709551616-', 'bytes=', 'bytes=-',
  'bytes=0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1', 'bytes=NaN-Infinity',
];
const PRECONDITIONS: Array<Record<string, string>> = [
  { 'if-match': 'garbage' }, { 'if-match': '"' }, { 'if-match': '*' }, { 'if-match': 'W/"x"' }, { 'if-match': '"a", "b", ' }, { 'if-match': '"' + 'x'.repeat(10_000) + '"' },
  { 'if-match': '1-abc' }, { 'if-none-match': '*' }, { 'if-none-match': 'garbage, ,' }, { 'if-modified-since': 'garbage' },
  { 'if-unmodified-since': 'Thu, 01 Jan 1970 00:00:00 GMT' }, { 'if-range': 'garbage', range: 'bytes=0-1' }, { if: '(<garbage>)' },
  { if: '<http://evil/x> (Not <urn:uuid:x> ["etag"])' }, { if: '(' }, { 'if-schedule-tag-match': '"x"' },
];
const HEADER_ABUSE: Array<Record<string, string | string[]>> = [
  { 'x-big': 'x'.repeat(20_000) }, { cookie: 'a=' + 'b'.repeat(30_000) }, Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`x-h${i}`, String(i)])),
  { authorization: 'Bearer ' + 'a'.repeat(10_000) }, { 'x-latin1': '\u00ff\u00fe\u00e9' }, { 'x-forwarded-for': 'garbage, ,::::', 'x-forwarded-host': 'evil.example' },
  { depth: 'infinity' }, { depth: '-1' }, { depth: '999' }, { overwrite: 'maybe' }, { destination: 'garbage' }, { destination: 'http://evil.example/dav/files/x' },
  { destination: '/dav/files/../../../etc/passwd' }, { destination: '/dav/files/%00' }, { 'lock-token': 'garbage' }, { timeout: 'Second-999999999999999999' },
  { 'x-oc-mtime': 'NaN' }, { 'x-oc-mtime': '1e309' }, { 'oc-total-length': '-1' }, { 'oc-checksum': 'MD5:!!!' }, { 'content-md5': '!!!' }, { date: 'garbage' },
  { 'x-request-id': '../../' + 'r'.repeat(300) }, { expect: '100-continue' }, { 'content-encoding': 'gzip' }, { 'content-encoding': 'br, zstd, x' },
  { 'accept-encoding': 'gzip;q=garbage, br, zstd' }, { 'accept-language': rawUtf8('☃;q=x') }, { origin: 'null' }, { 'x-http-method-override': 'DELETE' },
  { 'content-range': 'bytes 0-1/0' }, { 'content-length': '0' }, { prefer: 'return=minimal;' + 'x'.repeat(2000) }, { brief: 't' }, { 'x-cozy-referer': '%00' },
];

function b64(s: string): string {
  return Buffer.from(s, 'latin1').toString('base64');
}
function b64url(s: string): string {
  return Buffer.from(s).toString('base64url');
}
function jwt(header: object, payload: object, key: string): string {
  const head = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  return `${head}.${createHmac('sha256', key).update(head).digest('base64url')}`;
}

/** Garbage credentials, each meant to be refused with a 4xx and never to reach a handler as somebody. */
function garbageAuth(ctx: CorpusContext, host: string): Array<Record<string, string>> {
  const now = Math.floor(Date.now() / 1000);
  const claims = { iss: host, aud: 'cli', iat: now, scope: 'io.cozy.files io.cozy.settings' };
  const token = ctx.attacker.token;
  return [
    { authorization: 'Bearer' }, { authorization: 'Bearer ' }, { authorization: 'Bearer x' }, { authorization: 'Bearer a.b.c' },
    { authorization: `Bearer ${b64url('{"alg":"none","typ":"JWT"}')}.${b64url(JSON.stringify(claims))}.` },
    { authorization: `Bearer ${jwt({ alg: 'HS256', typ: 'JWT' }, claims, 'secret')}` },
    { authorization: `Bearer ${jwt({ alg: 'HS512', typ: 'JWT' }, { ...claims, pad: 'p'.repeat(6000) }, '')}` },
    { authorization: `Bearer ${token.slice(0, -2)}${token.endsWith('A') ? 'BB' : 'AA'}` }, { authorization: `Bearer ${token}.x` },
    { authorization: 'Basic !!!' }, { authorization: `Basic ${b64('nocolon')}` }, { authorization: `Basic ${b64(':')}` },
    { authorization: `Basic ${b64('me:' + 'x'.repeat(5000))}` }, { authorization: `Basic ${b64('me:\u0000\u00ff')}` }, { authorization: 'Digest username="x"' },
    { authorization: 'Negotiate YII=' }, { cookie: 'cozysessid=garbage' }, { cookie: `cozysessid=${ctx.attacker.cookie.split('=').slice(1).join('=').slice(0, -3)}xyz` },
    { authorization: `Bearer ${ctx.attacker.regToken}` }, { authorization: `Basic ${b64('me:' + token)}` }, { authorization: `Bearer ${token}`, cookie: 'cozysessid=garbage' },
  ];
}

function credential(kind: AuthKind, t: Tenant, adminBasic: string): Record<string, string> {
  switch (kind) {
    case 'bearer': return { authorization: `Bearer ${t.token}` };
    case 'oauth': return { authorization: `Bearer ${t.oauthToken}` };
    case 'basic': return { authorization: t.basic };
    case 'cookie': return { cookie: t.cookie };
    case 'spare-cookie': return { cookie: t.spareCookie };
    case 'regtoken': return { authorization: `Bearer ${t.regToken}` };
    case 'admin': return { authorization: adminBasic };
    case 'none': return {};
  }
}

function contentTypeOf(kind: BodyKind): string | undefined {
  switch (kind) {
    case 'json': return 'application/json';
    case 'jsonapi': return 'application/vnd.api+json';
    case 'form': return 'application/x-www-form-urlencoded';
    case 'xml': return 'application/xml; charset=utf-8';
    case 'ical': return 'text/calendar; charset=utf-8';
    case 'vcard': return 'text/vcard; charset=utf-8';
    case 'bytes': return 'text/plain';
    case 'none': return undefined;
  }
}

const PLACEHOLDER = /\{([a-z]+)\}/g;

/** The template's path with the tenant's ids; `hostile` replaces the first placeholder (or is appended). */
function fill(tpl: RouteTemplate, t: Tenant, hostile?: string): string {
  const ids = tpl.destructive ? t.spare : t.ids;
  let replaced = false;
  const path = tpl.path.replace(PLACEHOLDER, (_, k: string) => {
    if (hostile !== undefined && !replaced) {
      replaced = true;
      return hostile;
    }
    return ids[k as IdKind] ?? k;
  });
  if (replaced || hostile === undefined) return path;
  const q = path.indexOf('?');
  const [base, query] = q < 0 ? [path, ''] : [path.slice(0, q), path.slice(q)];
  return `${base.endsWith('/') ? base : `${base}/`}${hostile}${query}`;
}

function withQuery(path: string, query: string): string {
  return path + (path.includes('?') ? '&' : '?') + query;
}

/** The hostile bodies of the family the route reads. */
function bodiesFor(kind: BodyKind, category: 'malformed' | 'types' | 'huge' | 'deep' | 'proto' | 'arrays'): readonly string[] {
  if (kind === 'xml') return category === 'deep' ? [deepXml(10_000), HOSTILE_XML[1] as string] : HOSTILE_XML;
  if (kind === 'ical') return HOSTILE_ICAL;
  if (kind === 'vcard') return HOSTILE_VCARD;
  if (kind === 'form') return HOSTILE_FORMS;
  switch (category) {
    case 'malformed': return MALFORMED_JSON;
    case 'types': return WRONG_TYPES;
    case 'huge': return HUGE_NUMBERS;
    case 'deep': return DEEP;
    case 'proto': return PROTO;
    case 'arrays': return ARRAYS;
  }
}

const OTHER_METHODS = ['GET', 'PUT', 'PATCH', 'DELETE', 'POST', 'TRACE', 'PROPFIND', 'REPORT', 'MKCOL', 'SEARCH', 'ACL', 'BIND', 'QUERY', 'LOCK', 'MKCALENDAR', 'OPTIONS'];

/**
 * The whole batch: for every route, `perKind` requests of each kind of hostility, drawn from the pools with the
 * seeded generator. Requests go to the attacker's own instance with the attacker's credentials unless the kind is
 * about credentials; the cross-tenant kind also aims the attacker's credentials at the victim's host.
 */
export function buildBatch(routes: readonly RouteTemplate[], ctx: CorpusContext, seed: number, perKind: number): HostileRequest[] {
  const rng = seeded(seed);
  const out: HostileRequest[] = [];
  const { attacker, victim } = ctx;
  const victimIds = Object.values(victim.ids).filter((v) => v.length > 0 && !v.includes('/'));
  for (const tpl of routes) {
    const server = tpl.server ?? 'public';
    const hostOf = (t: Tenant) => (server === 'admin' ? '127.0.0.1' : t.host);
    const base = (kind: string, over: Partial<HostileRequest> = {}): HostileRequest => {
      const ct = contentTypeOf(tpl.body);
      const headers: Record<string, string | string[]> = { host: hostOf(attacker), accept: 'application/json, */*', ...credential(tpl.auth, attacker, ctx.adminBasic) };
      if (tpl.sample !== undefined && ct) headers['content-type'] = ct;
      return {
        family: tpl.family, kind, server, method: tpl.method, path: fill(tpl, attacker), headers, body: tpl.sample,
        shape: tpl.shape, tenant: 'attacker', open: tpl.open === true, ...over,
      };
    };
    const withHeaders = (req: HostileRequest, h: Record<string, string | string[]>): HostileRequest => ({ ...req, headers: { ...req.headers, ...h } });
    const bodyKind = tpl.body === 'none' || tpl.body === 'bytes' ? 'json' : tpl.body;
    for (let i = 0; i < perKind; i++) {
      // A route that reads no body gets one stray body (it must be ignored or refused); the others get every kind.
      const cats = tpl.body === 'none' ? (['malformed'] as const) : (['malformed', 'types', 'huge', 'deep', 'proto', 'arrays'] as const);
      for (const cat of cats) {
        const body = pick(rng, bodiesFor(bodyKind, cat));
        const req = base(`body-${cat}`, { body });
        req.headers['content-type'] = contentTypeOf(bodyKind) as string;
        out.push(req);
      }
      out.push(base('query', { path: withQuery(fill(tpl, attacker), pick(rng, QUERIES)) }));
      out.push(base('path', { path: fill(tpl, attacker, pick(rng, SEGMENTS)) }));
      const idPool = rng() < 0.4 ? victimIds : IDS;
      out.push(base(idPool === victimIds ? 'other-tenant-id' : 'bad-id', { path: fill(tpl, attacker, pick(rng, idPool)) }));
      out.push(withHeaders(base('content-type', { body: tpl.sample ?? 'x' }), { 'content-type': pick(rng, CONTENT_TYPES) }));
      out.push(withHeaders(base('headers'), pick(rng, HEADER_ABUSE)));
      out.push(base('method', { method: pick(rng, OTHER_METHODS.filter((m) => m !== tpl.method)) }));
      out.push(withHeaders(base('accept'), { accept: pick(rng, ACCEPTS) }));
      out.push(withHeaders(base('range'), { range: pick(rng, RANGES) }));
      out.push(withHeaders(base('precondition'), pick(rng, PRECONDITIONS)));
      if (tpl.auth !== 'admin') {
        const garbage = pick(rng, garbageAuth(ctx, attacker.host));
        const stripped = base('auth');
        delete stripped.headers.authorization;
        delete stripped.headers.cookie;
        out.push(withHeaders(stripped, garbage));
        // The victim's credential on the attacker's host, and the attacker's on the victim's host.
        const foreign = base('cross-tenant');
        delete foreign.headers.authorization;
        delete foreign.headers.cookie;
        out.push(withHeaders(foreign, credential(tpl.auth === 'none' ? pick(rng, ['bearer', 'basic', 'cookie'] as const) : tpl.auth, victim, ctx.adminBasic)));
        const aimed = base('cross-tenant', { path: fill(tpl, victim), tenant: 'victim-host' });
        aimed.headers.host = victim.host;
        out.push(aimed);
      } else {
        out.push(base('auth', { headers: { ...base('auth').headers, authorization: pick(rng, ['Basic !!!', `Basic ${b64('admin:wrong')}`, 'Bearer x', `Basic ${b64(':')}`]) } }));
      }
    }
  }
  return out;
}
