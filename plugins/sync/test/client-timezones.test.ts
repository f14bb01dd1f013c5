import { execFile } from 'node:child_process';
import t from 'tap';
import { startSync } from './helpers.ts';

/**
 * python3-caldav against time zones by reference (RFC 7809): an event that names America/New_York without its
 * VTIMEZONE is stored, found by a time-range search at its real time, expanded in its zone, and read back with the
 * VTIMEZONE, which vobject (the client's parser) then uses.
 */
const SCRIPT = `
import sys, caldav, datetime
url, password = sys.argv[1], sys.argv[2]
c = caldav.DAVClient(url=url, username="me", password=password)
cal = c.principal().make_calendar(name="Zones", cal_id="zones")
cal.save_event("BEGIN:VCALENDAR\\r\\nVERSION:2.0\\r\\nPRODID:x\\r\\nBEGIN:VEVENT\\r\\nUID:ny\\r\\nDTSTAMP:20250101T000000Z\\r\\nDTSTART;TZID=America/New_York:20250310T090000\\r\\nDTEND;TZID=America/New_York:20250310T100000\\r\\nSUMMARY:standup\\r\\nRRULE:FREQ=DAILY;COUNT=2\\r\\nEND:VEVENT\\r\\nEND:VCALENDAR\\r\\n")
utc = datetime.timezone.utc
at = lambda h: datetime.datetime(2025, 3, 10, h, tzinfo=utc)
print("FOUND 13-14", len(cal.date_search(at(13), at(14), expand=False)))
print("FOUND 09-10", len(cal.date_search(at(9), at(10), expand=False)))
for ev in cal.date_search(at(0), datetime.datetime(2025, 3, 12, tzinfo=utc), expand=True):
    for vevent in ev.vobject_instance.vevent_list:
        print("INSTANCE", vevent.dtstart.value.astimezone(utc).strftime("%d %H:%M"))
ev = cal.event_by_uid("ny")
ev.load()
print("VTIMEZONE", "BEGIN:VTIMEZONE" in ev.data)
print("START", ev.vobject_instance.vevent.dtstart.value.astimezone(utc).strftime("%d %H:%M"))
`;

t.test('python3-caldav: an event whose VTIMEZONE was left out is found, expanded and read in its zone', async (t) => {
  const s = await startSync(t);
  const out = await new Promise<{ code: number; text: string }>((resolve) => {
    execFile('/usr/bin/python3', ['-c', SCRIPT, `${s.origin}/sync/`, s.password], { timeout: 60_000 }, (err, stdout, stderr) => resolve({ code: err ? 1 : 0, text: `${stdout}${stderr}` }));
  });
  t.equal(out.code, 0, 'the script exits 0', { output: out.text });
  t.same(out.text.trim().split('\n').sort(), ['FOUND 09-10 0', 'FOUND 13-14 1', 'INSTANCE 10 13:00', 'INSTANCE 11 13:00', 'START 10 13:00', 'VTIMEZONE True'].sort());
});
