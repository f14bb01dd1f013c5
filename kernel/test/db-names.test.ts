import t from 'tap';
import { databaseName, instancePrefix, isValidDoctype } from '../src/store/db-names.ts';

t.test('the prefix of a new instance is cozy + 32 hex chars of sha256(domain)', async (t) => {
  t.equal(instancePrefix('alice.example'), 'cozy08dfd4ce4ed3cf122c653b1d71b9743c');
  t.match(instancePrefix('alice.example'), /^cozy[0-9a-f]{32}$/);
  t.not(instancePrefix('alice.example'), instancePrefix('alice.example:8080'), 'the port is part of the domain');
});

t.test('database names follow cozy-stack: dots and colons become dashes, lower case', async (t) => {
  t.equal(databaseName('cozyab', 'io.cozy.files'), 'cozyab/io-cozy-files');
  t.equal(databaseName('global', 'instances'), 'global/instances');
  t.equal(databaseName('Alice.Example:8080', 'com.Example.Notes'), 'alice-example-8080/com-example-notes');
});

t.test('doctype names are validated', async (t) => {
  for (const ok of ['io.cozy.files', 'com.example.notes', 'io.cozy.contacts.addressbooks', 'org-x.y_z']) t.ok(isValidDoctype(ok), ok);
  for (const bad of ['', 'IO.COZY', '_design', 'a..b', 'a/b', '.a', 'x'.repeat(201)]) t.notOk(isValidDoctype(bad), bad);
});
