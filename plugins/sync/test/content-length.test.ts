import t from 'tap';
import { servedCalendar, servedLength, standardZone, zoneLayout } from '../src/standard-zones.ts';
import { startSync, type SyncServer } from './helpers.ts';

const NSS = 'xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav" xmlns:cr="urn:ietf:params:xml:ns:carddav"';
const PROPFIND = (props: string) => `<?xml version="1.0" encoding="utf-8"?><d:propfind ${NSS}><d:prop>${props}</d:prop></d:propfind>`;
const CAL = { 'content-type': 'text/calendar; charset=utf-8' };
const vcal = (body: string) => `BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n${body}END:VCALENDAR\r\n`;
const event = (uid: string, start: string, extra = '') => vcal(`BEGIN:VEVENT\r\nUID:${uid}\r\nDTSTAMP:20250101T000000Z\r\n${start}\r\nSUMMARY:${uid} é\r\n${extra}END:VEVENT\r\n`);
const CUSTOM_ZONE = 'BEGIN:VTIMEZONE\r\nTZID:My Zone\r\nBEGIN:STANDARD\r\nDTSTART:19700101T000000\r\nTZOFFSETFROM:+0300\r\nTZOFFSETTO:+0300\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n';

/** Objects of every shape the layout has to follow: bare standard ids, their own zones, both, folded lines, none. */
const SAMPLES: Record<string, string> = {
  bare: event('bare', 'DTSTART;TZID=America/New_York:20250310T090000'),
  defined: vcal(`${standardZone('Europe/Paris')!.text}\r\nBEGIN:VEVENT\r\nUID:def\r\nDTSTAMP:20250101T000000Z\r\nDTSTART;TZID=Europe/Paris:20250310T090000\r\nEND:VEVENT\r\n`),
  custom: vcal(`${CUSTOM_ZONE}BEGIN:VEVENT\r\nUID:c\r\nDTSTAMP:20250101T000000Z\r\nDTSTART;TZID="My Zone":20250310T090000\r\nEND:VEVENT\r\n`),
  mixed: vcal(`${CUSTOM_ZONE}${standardZone('Europe/Paris')!.text}\r\nBEGIN:VEVENT\r\nUID:m\r\nDTSTAMP:20250101T000000Z\r\nDTSTART;TZID=Europe/Paris:20250310T090000\r\nDTEND;TZID=Asia/Tokyo:20250310T180000\r\nRDATE;TZID="My Zone":20250311T090000\r\nEXDATE;TZID=Mars/Base:20250312T090000\r\nEND:VEVENT\r\n`),
  folded: vcal('BEGIN:VEVENT\r\nUID:f\r\nDTSTAMP:20250101T000000Z\r\nDTSTART;TZ\r\n ID=Europe/Berlin:20250310T090000\r\nEND:VEVENT\r\n'),
  prefixed: event('p', 'DTSTART;TZID=/mozilla.org/20050126_1/Europe/Paris:20250310T090000'),
  utc: event('u', 'DTSTART:20250310T090000Z'),
  unknown: event('x', 'DTSTART;TZID=Nowhere/Land:20250310T090000'),
};

t.test('the length summed from the stored layout is the length of what is served, in both modes', async (t) => {
  for (const [name, raw] of Object.entries(SAMPLES)) {
    const layout = zoneLayout(raw);
    t.same(JSON.parse(JSON.stringify(layout)), layout, `${name}: the layout is plain JSON, as stored`);
    for (const mode of ['include', 'omit'] as const) {
      const served = servedCalendar(raw, mode);
      t.equal(servedCalendar(raw, mode, layout), served, `${name} ${mode}: the stored layout serves the same text`);
      t.equal(servedLength(Buffer.byteLength(raw), layout, mode), Buffer.byteLength(served), `${name} ${mode}: length`);
    }
  }
  t.ok(Buffer.byteLength(servedCalendar(SAMPLES.bare!, 'include')) > Buffer.byteLength(SAMPLES.bare!), 'a missing zone is added');
  t.ok(Buffer.byteLength(servedCalendar(SAMPLES.mixed!, 'omit')) < Buffer.byteLength(SAMPLES.mixed!), 'a standard zone is left out');
});

/** One property's value per response href. */
const values = (xml: string, prop: string) => {
  const out = new Map<string, string>();
  for (const r of xml.split('<D:response>').slice(1)) {
    const href = /<D:href>([^<]*)<\/D:href>/.exec(r)?.[1];
    const v = new RegExp(`<D:${prop}>([^<]*)</D:${prop}>`).exec(r)?.[1];
    if (href && v !== undefined) out.set(href, v.replace(/&quot;/g, '"'));
  }
  return out;
};
const lengths = (xml: string) => new Map([...values(xml, 'getcontentlength')].map(([h, v]) => [h, Number(v)]));
const etags = (xml: string) => values(xml, 'getetag');

async function served(s: SyncServer, path: string, headers: Record<string, string>): Promise<{ length: number; etag: string }> {
  const res = await s.dav('GET', path, undefined, headers);
  const head = await s.dav('HEAD', path, undefined, headers);
  if (res.status !== 200 || Number(head.headers.get('content-length')) !== Buffer.byteLength(res.text)) throw new Error(`GET/HEAD disagree on ${path}`);
  return { length: Buffer.byteLength(res.text), etag: res.headers.get('etag') ?? '' };
}

t.test('getcontentlength is what GET serves for the same headers, in every answer that carries it', async (t) => {
  const s = await startSync(t);
  await s.dav('MKCALENDAR', '/sync/calendars/cal/');
  const names = ['bare', 'defined', 'mixed', 'utc'];
  for (const n of names) t.equal((await s.dav('PUT', `/sync/calendars/cal/${n}.ics`, SAMPLES[n], CAL)).status, 201);
  // A document written before the layout was kept: no `dav.zones`, and only the raw text's size, which need not be
  // what GET serves for it.
  const store = s.tk.kernel.store;
  const old = SAMPLES.prefixed!;
  await store.put(s.inst, 'io.cozy.calendar.events', { _id: 'cal/old.ics', calendar: 'cal', dav: { collection: 'cal', href: 'old.ics', uid: 'p', raw: old, size: Buffer.byteLength(old), comp: 'VEVENT', first: null, last: null } });
  names.push('old');
  const tokenRes = await s.dav('REPORT', '/sync/calendars/cal/', `<?xml version="1.0"?><d:sync-collection xmlns:d="DAV:"><d:sync-token/><d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>`);
  const token = /<D:sync-token>([^<]*)<\/D:sync-token>/.exec(tokenRes.text)![1]!;
  // An edit after the token, so the incremental sync has a member to report.
  t.equal((await s.dav('PUT', '/sync/calendars/cal/bare.ics', SAMPLES.bare!.replace('SUMMARY:bare', 'SUMMARY:bare again'), CAL)).status, 204);

  for (const headers of [{}, { 'caldav-timezones': 'T' }, { 'caldav-timezones': 'F' }] as Array<Record<string, string>>) {
    const label = headers['caldav-timezones'] ?? 'no header';
    const want = new Map<string, { length: number; etag: string }>();
    for (const n of names) want.set(`/sync/calendars/cal/${n}.ics`, await served(s, `/sync/calendars/cal/${n}.ics`, headers));
    const check = (xml: string, what: string, only?: string[]) => {
      const got = lengths(xml);
      const tags = etags(xml);
      for (const [href, w] of want) {
        if (only && !only.includes(href)) continue;
        t.equal(got.get(href), w.length, `${label}, ${what}: ${href}`);
        if (tags.has(href)) t.equal(tags.get(href), w.etag, `${label}, ${what}: ${href} keeps its ETag`);
      }
    };
    const props = '<d:getetag/><d:getcontentlength/>';
    check((await s.dav('PROPFIND', '/sync/calendars/cal/', PROPFIND(props), { depth: '1', ...headers })).text, 'PROPFIND Depth 1');
    check((await s.dav('PROPFIND', '/sync/calendars/cal/', '<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:allprop/></d:propfind>', { depth: '1', ...headers })).text, 'allprop');
    for (const n of names) check((await s.dav('PROPFIND', `/sync/calendars/cal/${n}.ics`, PROPFIND(props), { depth: '0', ...headers })).text, 'PROPFIND Depth 0', [`/sync/calendars/cal/${n}.ics`]);
    const multiget = `<?xml version="1.0"?><c:calendar-multiget ${NSS}><d:prop>${props}<c:calendar-data><c:comp name="VCALENDAR"><c:comp name="VEVENT"><c:prop name="UID"/></c:comp></c:comp></c:calendar-data></d:prop>${[...want.keys()].map((h) => `<d:href>${h}</d:href>`).join('')}</c:calendar-multiget>`;
    check((await s.dav('REPORT', '/sync/calendars/cal/', multiget, headers)).text, 'multiget with partial calendar-data');
    const query = (filter: string) => `<?xml version="1.0"?><c:calendar-query ${NSS}><d:prop>${props}</d:prop><c:filter><c:comp-filter name="VCALENDAR">${filter}</c:comp-filter></c:filter></c:calendar-query>`;
    check((await s.dav('REPORT', '/sync/calendars/cal/', query('<c:comp-filter name="VEVENT"/>'), { depth: '1', ...headers })).text, 'calendar-query from the listing');
    check((await s.dav('REPORT', '/sync/calendars/cal/', query('<c:comp-filter name="VEVENT"><c:prop-filter name="UID"/></c:comp-filter>'), { depth: '1', ...headers })).text, 'calendar-query that reads objects');
    const sync = (tok: string) => `<?xml version="1.0"?><d:sync-collection xmlns:d="DAV:"><d:sync-token>${tok}</d:sync-token><d:sync-level>1</d:sync-level><d:prop>${props}</d:prop></d:sync-collection>`;
    check((await s.dav('REPORT', '/sync/calendars/cal/', sync(''), headers)).text, 'initial sync-collection');
    const since = await s.dav('REPORT', '/sync/calendars/cal/', sync(token), headers);
    t.same([...lengths(since.text).keys()], ['/sync/calendars/cal/bare.ics'], `${label}: the edit alone`);
    check(since.text, 'sync-collection since a token', ['/sync/calendars/cal/bare.ics']);
  }
  const bare = await s.dav('GET', '/sync/calendars/cal/bare.ics');
  t.match(bare.text, /BEGIN:VTIMEZONE/, 'the bare object is served with its zone by default');
  t.notMatch((await s.dav('GET', '/sync/calendars/cal/defined.ics', undefined, { 'caldav-timezones': 'F' })).text, /BEGIN:VTIMEZONE/, 'and a standard one left out with F');
  const stored = (await store.get(s.inst, 'io.cozy.calendar.events', 'cal/mixed.ics')) as unknown as { dav: { zones?: unknown } };
  t.same(stored.dav.zones, zoneLayout(SAMPLES.mixed!), 'new objects keep their layout');
});

t.test('a card\'s getcontentlength follows a rebuild by the Contacts app and the vCard version asked', async (t) => {
  const s = await startSync(t);
  const card = 'BEGIN:VCARD\r\nVERSION:3.0\r\nUID:ada\r\nFN:Ada Lovelace\r\nN:Lovelace;Ada;;;\r\nEMAIL;TYPE=INTERNET,pref:ada@example.org\r\nX-CUSTOM:kept\r\nEND:VCARD\r\n';
  t.equal((await s.dav('PUT', '/sync/contacts/default/ada.vcf', card, { 'content-type': 'text/vcard' })).status, 201);
  const store = s.tk.kernel.store;
  const doc = await store.get(s.inst, 'io.cozy.contacts', 'default/ada.vcf');
  await store.put(s.inst, 'io.cozy.contacts', { ...doc, fullname: 'Ada, Countess of Lovelace, née Byron' });
  const href = '/sync/contacts/default/ada.vcf';
  for (const headers of [{}, { accept: 'text/vcard; version=4.0' }, { accept: 'text/vcard; version=3.0' }] as Array<Record<string, string>>) {
    const want = await served(s, href, headers);
    const one = await s.dav('PROPFIND', href, PROPFIND('<d:getetag/><d:getcontentlength/>'), { depth: '0', ...headers });
    t.equal(lengths(one.text).get(href), want.length, `${headers.accept ?? 'as stored'}: PROPFIND`);
    const all = await s.dav('PROPFIND', '/sync/contacts/default/', PROPFIND('<d:getetag/><d:getcontentlength/>'), { depth: '1', ...headers });
    t.equal(lengths(all.text).get(href), want.length, `${headers.accept ?? 'as stored'}: PROPFIND Depth 1`);
  }
  t.not((await served(s, href, {})).length, Buffer.byteLength(card), 'the rebuilt card is not the stored one');
});
