import t from 'tap';
import { instancePrefix, databaseName } from '../src/store/db-names.ts';
t.test('db names follow cozy-stack', async (t) => {
  t.match(instancePrefix('alice.example'), /^cozy[0-9a-f]{32}$/);
  t.equal(databaseName('cozyab', 'io.cozy.files'), 'cozyab/io-cozy-files');
});
