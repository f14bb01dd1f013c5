import { execFile } from 'node:child_process';
import t from 'tap';
import { startSync } from './helpers.ts';

/** python3-caldav's own free-busy call against the free-busy-query REPORT (a real client reading our answer). */
const SCRIPT = `
import sys, caldav, datetime
url, password = sys.argv[1], sys.argv[2]
c = caldav.DAVClient(url=url, username="me", password=password)
cal = c.principal().make_calendar(name="Busy", cal_id="busy")
ev = "BEGIN:VCALENDAR\\r\\nVERSION:2.0\\r\\nPRODID:x\\r\\nBEGIN:VEVENT\\r\\nUID:%s\\r\\nDTSTART:%s\\r\\nDTEND:%s\\r\\nSUMMARY:x\\r\\n%sEND:VEVENT\\r\\nEND:VCALENDAR\\r\\n"
cal.save_event(ev % ("a", "20250310T090000Z", "20250310T100000Z", ""))
cal.save_event(ev % ("b", "20250310T093000Z", "20250310T110000Z", ""))
cal.save_event(ev % ("c", "20250310T140000Z", "20250310T150000Z", "TRANSP:TRANSPARENT\\r\\n"))
utc = datetime.timezone.utc
fb = cal.freebusy_request(datetime.datetime(2025, 3, 10, tzinfo=utc), datetime.datetime(2025, 3, 11, tzinfo=utc))
for line in fb.vobject_instance.vfreebusy.contents["freebusy"]:
    for start, end in line.value:
        print("BUSY", start.strftime("%H:%M"), end.strftime("%H:%M"))
`;

t.test('python3-caldav freebusy_request reads our free-busy-query answer', async (t) => {
  const s = await startSync(t);
  const out = await new Promise<{ code: number; text: string }>((resolve) => {
    execFile('/usr/bin/python3', ['-c', SCRIPT, `${s.origin}/sync/`, s.password], { timeout: 60_000 }, (err, stdout, stderr) => resolve({ code: err ? 1 : 0, text: `${stdout}${stderr}` }));
  });
  t.equal(out.code, 0, 'the script exits 0', { output: out.text });
  t.same(out.text.trim().split('\n'), ['BUSY 09:00 11:00'], 'one merged busy period, the transparent event left out');
});
