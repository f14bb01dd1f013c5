import t from 'tap';
import { formatToken, parseToken, TOKEN_PREFIX } from '../src/sync-tokens.ts';
import { startSync } from './helpers.ts';

const VCARD = { 'content-type': 'text/vcard; charset=utf-8' };
const NSS = 'xmlns:d="DAV:" xmlns:cr="urn:ietf:params:xml:ns:carddav"';
const card = (uid: string, fn: string) => `BEGIN:VCARD\r\nVERSION:4.0\r\nUID:${uid}\r\nFN:${fn}\r\nN:${fn};;;;\r\nEND:VCARD\r\n`;
// What DAVx5 writes with "groups are separate vCards" against a vCard 4 server, and what Apple's clients write.
const GROUP4 = 'BEGIN:VCARD\r\nVERSION:4.0\r\nUID:fam\r\nKIND:group\r\nFN:Family\r\nN:Family;;;;\r\nMEMBER:urn:uuid:ada\r\nEND:VCARD\r\n';
const GROUP3 = 'BEGIN:VCARD\r\nVERSION:3.0\r\nPRODID:-//Apple Inc.//AddressBook 9.0//EN\r\nUID:work\r\nN:Work;;;;\r\nFN:Work\r\nX-ADDRESSBOOKSERVER-KIND:group\r\nX-ADDRESSBOOKSERVER-MEMBER:urn:uuid:ada\r\nEND:VCARD\r\n';
const SYNC = (token: string, props = '<d:getetag/><d:getcontenttype/>') => `<?xml version="1.0"?><d:sync-collection xmlns:d="DAV:"><d:sync-token>${token}</d:sync-token><d:sync-level>1</d:sync-level><d:prop>${props}</d:prop></d:sync-collection>`;
const tokenOf = (xml: string) => /<D:sync-token>([^<]*)<\/D:sync-token>/.exec(xml)?.[1] ?? '';
const hrefs = (xml: string) => [...xml.matchAll(/<D:href>([^<]*)<\/D:href>/g)].map((m) => m[1]!).filter((h) => !h.endsWith('/')).sort();

t.test('group vCards are groups for Cozy\'s apps, not contacts, and sync back as sent', async (t) => {
  const s = await startSync(t);
  const store = s.tk.kernel.store;
  const book = '/sync/contacts/default/';
  t.equal((await s.dav('PUT', `${book}ada.vcf`, card('ada', 'Ada Lovelace'), VCARD)).status, 201);
  const start = tokenOf((await s.dav('REPORT', book, SYNC(''))).text);
  t.equal((await s.dav('PUT', `${book}fam.vcf`, GROUP4, VCARD)).status, 201, 'a vCard 4 group');
  t.equal((await s.dav('PUT', `${book}work.vcf`, GROUP3, VCARD)).status, 201, 'an Apple vCard 3 group');

  const fam = await store.get(s.inst, 'io.cozy.contacts.groups', 'default/fam.vcf');
  t.equal(fam.name, 'Family', 'a group named as its card');
  t.equal((await store.get(s.inst, 'io.cozy.contacts.groups', 'default/work.vcf')).name, 'Work');
  const contacts = await store.allDocs(s.inst, 'io.cozy.contacts', { include_docs: true });
  t.same(contacts.rows.map((r) => (r.doc as { fullname?: string } | undefined)?.fullname).filter(Boolean), ['Ada Lovelace'], 'no contact is made of a group');

  const got = await s.dav('GET', `${book}fam.vcf`);
  t.equal(got.text, GROUP4, 'served as sent');
  t.match(got.headers.get('content-type'), /^text\/vcard/);
  const listing = await s.dav('PROPFIND', book, `<?xml version="1.0"?><d:propfind ${NSS}><d:prop><d:getetag/><d:getcontenttype/></d:prop></d:propfind>`, { depth: '1' });
  t.same(hrefs(listing.text), [`${book}ada.vcf`, `${book}fam.vcf`, `${book}work.vcf`], 'members of the address book');
  t.notMatch(listing.text, 'text/calendar', 'all of them vCards');
  const since = await s.dav('REPORT', book, SYNC(start));
  // Ada, whom both cards name, joined the groups in Cozy: her document (so her ETag) changed, her card did not.
  t.same(hrefs(since.text), [`${book}ada.vcf`, `${book}fam.vcf`, `${book}work.vcf`], 'sync-collection reports the new groups');
  const multi = await s.dav('REPORT', book, `<?xml version="1.0"?><cr:addressbook-multiget ${NSS}><d:prop><cr:address-data/></d:prop><d:href>${book}work.vcf</d:href></cr:addressbook-multiget>`);
  t.match(multi.text, 'X-ADDRESSBOOKSERVER-KIND:group');
  const query = await s.dav('REPORT', book, `<?xml version="1.0"?><cr:addressbook-query ${NSS}><d:prop><d:getetag/></d:prop><cr:filter><cr:prop-filter name="FN"><cr:text-match>Family</cr:text-match></cr:prop-filter></cr:filter></cr:addressbook-query>`, { depth: '1' });
  t.same(hrefs(query.text), [`${book}fam.vcf`], 'and queries see them');

  t.equal((await s.dav('PUT', `${book}dup.vcf`, GROUP4.replace('FN:Family', 'FN:Again'), VCARD)).status, 409, 'one UID per address book, groups and contacts alike');
  t.equal((await s.dav('PUT', `${book}dup.vcf`, card('fam', 'Not a group'), VCARD)).status, 409);

  // A token made before group cards had their doctype carries one sequence: it still works, groups seen from 0.
  const seqs = parseToken(start, 'default', 2);
  const legacy = formatToken({ generation: 'default', seqs: [seqs[0]!] });
  const fromLegacy = await s.dav('REPORT', book, SYNC(legacy));
  t.equal(fromLegacy.status, 207, 'a one-sequence token is accepted');
  t.same(hrefs(fromLegacy.text), [`${book}ada.vcf`, `${book}fam.vcf`, `${book}work.vcf`]);
  t.equal((await s.dav('REPORT', book, SYNC(`${TOKEN_PREFIX}default/${Buffer.from('[]').toString('base64url')}`))).status, 403, 'an empty one is not');

  // The card stops being a group: the group goes, a contact comes, under the same name.
  const before = tokenOf(since.text);
  t.equal((await s.dav('PUT', `${book}work.vcf`, card('work', 'Work Phone'), VCARD)).status, 204);
  await t.rejects(store.get(s.inst, 'io.cozy.contacts.groups', 'default/work.vcf'), 'no group left');
  t.equal((await store.get(s.inst, 'io.cozy.contacts', 'default/work.vcf')).fullname, 'Work Phone');
  const turned = await s.dav('REPORT', book, SYNC(before));
  t.same(hrefs(turned.text), [`${book}ada.vcf`, `${book}work.vcf`], 'reported once, as changed (and Ada, who left that group)');
  t.notMatch(turned.text, '404 Not Found');

  // The Contacts app deletes the group: the card is gone for DAV clients too.
  const after = tokenOf(turned.text);
  const doc = await store.get(s.inst, 'io.cozy.contacts.groups', 'default/fam.vcf');
  await store.delete(s.inst, 'io.cozy.contacts.groups', doc._id, doc._rev as string);
  const gone = await s.dav('REPORT', book, SYNC(after));
  t.match(gone.text, `<D:href>${book}fam.vcf</D:href><D:status>HTTP/1.1 404 Not Found</D:status>`);
  t.equal((await s.dav('GET', `${book}fam.vcf`)).status, 404);

  // A group made in Cozy is no member (its contacts are): its id does not name a card.
  await store.put(s.inst, 'io.cozy.contacts.groups', { _id: 'friends', name: 'Friends' });
  t.equal((await s.dav('GET', `${book}friends.vcf`)).status, 404);
});

t.test('a token without the groups doctype syncs contacts and sees no group card', async (t) => {
  const s = await startSync(t);
  const book = '/sync/contacts/default/';
  t.equal((await s.dav('PUT', `${book}fam.vcf`, GROUP4, VCARD)).status, 201);
  t.equal((await s.dav('PUT', `${book}ada.vcf`, card('ada', 'Ada'), VCARD)).status, 201);
  const token = await s.tk.kernel.auth.issueToken(s.inst, 'cli', { subject: 'test', scope: 'io.cozy.contacts io.cozy.contacts.addressbooks' });
  const as = { authorization: `Bearer ${token}` };
  const listing = await s.dav('PROPFIND', book, '<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:getetag/></d:prop></d:propfind>', { depth: '1', ...as });
  t.same(hrefs(listing.text), [`${book}ada.vcf`]);
  t.same(hrefs((await s.dav('REPORT', book, SYNC(''), as)).text), [`${book}ada.vcf`], 'nor in a sync');
  t.equal((await s.dav('GET', `${book}fam.vcf`, undefined, as)).status, 404);
  t.equal((await s.dav('DELETE', `${book}fam.vcf`, undefined, as)).status, 404);
  t.equal((await s.dav('PUT', `${book}new.vcf`, GROUP4.replace('UID:fam', 'UID:new'), { ...VCARD, ...as })).status, 403, 'nor writes one');
  t.equal((await s.dav('PUT', `${book}bob.vcf`, card('bob', 'Bob'), { ...VCARD, ...as })).status, 201, 'contacts as before');
  t.equal((await s.dav('GET', `${book}fam.vcf`)).status, 200, 'the card is still there for the full password');
});

t.test('a member that moves between doctypes (an event made a todo) is reported as changed, not removed', async (t) => {
  const s = await startSync(t);
  const CAL = { 'content-type': 'text/calendar' };
  const ics = (comp: string) => `BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:${comp}\r\nUID:m\r\nDTSTAMP:20250101T000000Z\r\nDTSTART:20250101T090000Z\r\nEND:${comp}\r\nEND:VCALENDAR\r\n`;
  await s.dav('MKCALENDAR', '/sync/calendars/cal/');
  t.equal((await s.dav('PUT', '/sync/calendars/cal/m.ics', ics('VTODO'), CAL)).status, 201);
  const token = tokenOf((await s.dav('REPORT', '/sync/calendars/cal/', SYNC(''))).text);
  // The todos feed is read after the events one: the todo's deletion would come last and win.
  t.equal((await s.dav('PUT', '/sync/calendars/cal/m.ics', ics('VEVENT'), CAL)).status, 204);
  const since = await s.dav('REPORT', '/sync/calendars/cal/', SYNC(token));
  t.same(hrefs(since.text), ['/sync/calendars/cal/m.ics']);
  t.notMatch(since.text, '404 Not Found', 'not reported as removed');
  t.match(since.text, 'component=vevent', 'but as the event it is now');
});

t.test('a group renamed in Cozy\'s Contacts app is served with its new name', async (t) => {
  const s = await startSync(t);
  const store = s.tk.kernel.store;
  const book = '/sync/contacts/default/';
  t.equal((await s.dav('PUT', `${book}fam.vcf`, GROUP4, VCARD)).status, 201);
  const token = tokenOf((await s.dav('REPORT', book, SYNC(''))).text);
  const doc = await store.get(s.inst, 'io.cozy.contacts.groups', 'default/fam.vcf');
  await store.put(s.inst, 'io.cozy.contacts.groups', { ...doc, name: 'Famille; proche' });
  const got = await s.dav('GET', `${book}fam.vcf`);
  t.equal(got.text, GROUP4.replace('FN:Family', 'FN:Famille\\; proche'), 'only FN changes');
  const since = await s.dav('REPORT', book, SYNC(token, '<d:getetag/><d:getcontentlength/>'));
  t.same(hrefs(since.text), [`${book}fam.vcf`], 'reported as changed');
  t.match(since.text, `<D:getcontentlength>${Buffer.byteLength(got.text)}</D:getcontentlength>`, 'with the length served');
  t.match(since.text, `<D:getetag>${got.headers.get('etag')}</D:getetag>`, 'and the ETag GET gives');
  // The phone then sends the card back, names as the app left them: the group keeps the name.
  t.equal((await s.dav('PUT', `${book}fam.vcf`, got.text, { ...VCARD, 'if-match': got.headers.get('etag')! })).status, 204);
  t.equal((await store.get(s.inst, 'io.cozy.contacts.groups', 'default/fam.vcf')).name, 'Famille; proche');
  t.equal((await s.dav('GET', `${book}fam.vcf`)).text, got.text);
});

t.test('a group card\'s members are the group\'s contacts in Cozy (relationships.groups), whatever order they come in', async (t) => {
  const s = await startSync(t);
  const store = s.tk.kernel.store;
  const book = '/sync/contacts/default/';
  const groupsOf = async (id: string) => {
    const doc = await store.get(s.inst, 'io.cozy.contacts', id);
    return ((doc.relationships as { groups?: { data?: Array<{ _id: string; _type: string }> } } | undefined)?.groups?.data ?? []).map((r) => `${r._type === 'io.cozy.contacts.groups' ? '' : '?'}${r._id}`).sort();
  };
  for (const [uid, fn] of [['ada', 'Ada'], ['bob', 'Bob']]) t.equal((await s.dav('PUT', `${book}${uid}.vcf`, card(uid, fn), VCARD)).status, 201);
  await store.put(s.inst, 'io.cozy.contacts', { _id: 'cz1', fullname: 'Made In Cozy' });
  const bob = await store.get(s.inst, 'io.cozy.contacts', 'default/bob.vcf');
  await store.put(s.inst, 'io.cozy.contacts', { ...bob, relationships: { groups: { data: [{ _id: 'friends', _type: 'io.cozy.contacts.groups' }] } } });
  const bobRev = (await store.get(s.inst, 'io.cozy.contacts', 'default/bob.vcf'))._rev;

  const group = (members: string[]) => `BEGIN:VCARD\r\nVERSION:4.0\r\nUID:fam\r\nKIND:group\r\nFN:Family\r\n${members.map((m) => `MEMBER:urn:uuid:${m}\r\n`).join('')}END:VCARD\r\n`;
  t.equal((await s.dav('PUT', `${book}fam.vcf`, group(['ada', 'cz1', 'carl', 'nobody']), VCARD)).status, 201);
  t.same(await groupsOf('default/ada.vcf'), ['default/fam.vcf'], 'a DAV contact named by the card is in the group');
  t.same(await groupsOf('cz1'), ['default/fam.vcf'], 'and a contact made in Cozy, by the UID its card has');
  t.same(await groupsOf('default/bob.vcf'), ['friends'], 'the others are left as they were');
  t.equal((await store.get(s.inst, 'io.cozy.contacts', 'default/bob.vcf'))._rev, bobRev, 'and not even written');

  t.equal((await s.dav('PUT', `${book}carl.vcf`, card('carl', 'Carl'), VCARD)).status, 201);
  t.same(await groupsOf('default/carl.vcf'), ['default/fam.vcf'], 'a contact arriving after its group joins it');
  t.equal((await s.dav('PUT', `${book}carl.vcf`, card('carl', 'Carl Again'), VCARD)).status, 204);
  t.same(await groupsOf('default/carl.vcf'), ['default/fam.vcf'], 'and stays in it when its card changes');

  t.equal((await s.dav('PUT', `${book}fam.vcf`, group(['bob', 'cz1', 'carl']), VCARD)).status, 204);
  t.same(await groupsOf('default/ada.vcf'), [], 'a member left out leaves the group');
  t.same(await groupsOf('default/bob.vcf'), ['default/fam.vcf', 'friends'], 'a new one joins, keeping its Cozy groups');
  t.same(await groupsOf('cz1'), ['default/fam.vcf']);

  // Apple's vCard 3.0 group cards name members the same way.
  const apple = 'BEGIN:VCARD\r\nVERSION:3.0\r\nUID:work\r\nFN:Work\r\nX-ADDRESSBOOKSERVER-KIND:group\r\nX-ADDRESSBOOKSERVER-MEMBER:urn:uuid:ada\r\nEND:VCARD\r\n';
  t.equal((await s.dav('PUT', `${book}work.vcf`, apple, VCARD)).status, 201);
  t.same(await groupsOf('default/ada.vcf'), ['default/work.vcf']);

  t.equal((await s.dav('DELETE', `${book}fam.vcf`)).status, 204);
  t.same(await groupsOf('default/bob.vcf'), ['friends'], 'a deleted group card leaves no reference behind');
  t.same(await groupsOf('cz1'), []);
  t.same(await groupsOf('default/carl.vcf'), []);
  t.equal((await s.dav('PUT', `${book}work.vcf`, card('work', 'Work is a person now'), VCARD)).status, 204);
  t.same(await groupsOf('default/ada.vcf'), [], 'nor does a group card made a contact');
});

t.test('deleting the default address book leaves its contacts made in Cozy no reference to its group cards', async (t) => {
  const s = await startSync(t);
  const store = s.tk.kernel.store;
  await store.put(s.inst, 'io.cozy.contacts', { _id: 'cz1', fullname: 'Made In Cozy', relationships: { groups: { data: [{ _id: 'friends', _type: 'io.cozy.contacts.groups' }] } } });
  const group = 'BEGIN:VCARD\r\nVERSION:4.0\r\nUID:fam\r\nKIND:group\r\nFN:Family\r\nMEMBER:urn:uuid:cz1\r\nEND:VCARD\r\n';
  t.equal((await s.dav('PUT', '/sync/contacts/default/fam.vcf', group, VCARD)).status, 201);
  t.equal((await s.dav('DELETE', '/sync/contacts/default/')).status, 204);
  const cz1 = await store.get(s.inst, 'io.cozy.contacts', 'cz1');
  t.same(cz1.relationships, { groups: { data: [{ _id: 'friends', _type: 'io.cozy.contacts.groups' }] } }, 'its Cozy group kept, the card\'s gone');
  await t.rejects(store.get(s.inst, 'io.cozy.contacts.groups', 'default/fam.vcf'), 'the group went with its book');
});
