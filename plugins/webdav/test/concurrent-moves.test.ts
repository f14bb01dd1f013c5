import t from 'tap';
import { dav, startWebdav } from './helpers.ts';

t.test('concurrent MOVEs of one path: one wins, the others are refused instead of moving the file again', async (t) => {
  const env = await startWebdav(t);
  t.equal((await dav(env, 'MKCOL', '/race/')).status, 201);
  t.equal((await dav(env, 'PUT', '/race/same.txt', { body: 'hello' })).status, 201);
  const moves = await Promise.all(Array.from({ length: 12 }, (_, i) =>
    dav(env, 'MOVE', '/race/same.txt', { headers: { destination: `${env.url}race/moved-${i}.txt` } }).then((r) => r.status)));
  const won = moves.flatMap((s, i) => (s === 201 ? [i] : []));
  t.equal(won.length, 1, `exactly one MOVE says it moved the file (${moves.join(',')})`);
  t.ok(moves.every((s) => s === 201 || (s >= 400 && s < 500)), 'the others are refused with a 4xx');
  const listing = await dav(env, 'PROPFIND', '/race/', { headers: { depth: '1' } });
  const hrefs = [...(await listing.text()).matchAll(/<D:href>([^<]+)<\/D:href>/gi)].map((m) => m[1]);
  t.same(hrefs.filter((h) => !h?.endsWith('/race/')), [`/dav/files/race/moved-${won[0]}.txt`], 'the file is where the winning MOVE put it');
  t.equal(await (await dav(env, 'GET', `/race/moved-${won[0]}.txt`)).text(), 'hello');
});

t.test('a DELETE racing a MOVE of the same path never trashes the file at its new place', async (t) => {
  const env = await startWebdav(t);
  for (let round = 0; round < 5; round++) {
    t.equal((await dav(env, 'PUT', `/r${round}.txt`, { body: 'x' })).status, 201);
    const [moved, deleted] = await Promise.all([
      dav(env, 'MOVE', `/r${round}.txt`, { headers: { destination: `${env.url}m${round}.txt` } }).then((r) => r.status),
      dav(env, 'DELETE', `/r${round}.txt`).then((r) => r.status),
    ]);
    const there = (await dav(env, 'GET', `/m${round}.txt`)).status;
    if (moved === 201) t.equal(there, 200, `round ${round}: the MOVE said 201 (DELETE ${deleted}), so the file is at its destination`);
    else t.equal(deleted, 204, `round ${round}: the MOVE was refused (${moved}) because the DELETE won`);
  }
});
