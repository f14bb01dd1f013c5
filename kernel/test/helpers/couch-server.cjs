// A CouchDB-protocol server for the CouchAdapter tests: express-pouchdb 4.2.0 on PouchDB 9, in memory.
// Usage: PORT=0 DATA=/tmp/dir node couch-server.cjs   (PORT=0 picks a free port)
// Prints one line `listening http://127.0.0.1:<port>` once it accepts connections, so the test can learn the
// port without racing another process for it. DATA only holds express-pouchdb's config.json and log file.
'use strict';
const path = require('node:path');
const fs = require('node:fs');
const Module = require('node:module');

// express-pouchdb runs database names through sanitize-filename, which drops `/`: `cozyab/io-cozy-files` would be
// stored and listed as `cozyabio-cozy-files`, unlike CouchDB. Storage is in memory, so no file name is involved:
// keep names intact by replacing that module before express-pouchdb loads it.
const cleanFilenamePath = require.resolve('express-pouchdb/lib/clean-filename.js');
const keepName = new Module(cleanFilenamePath, module);
keepName.filename = cleanFilenamePath;
keepName.loaded = true;
keepName.exports = (name) => name;
require.cache[cleanFilenamePath] = keepName;

const express = require('express');
const PouchDB = require('pouchdb-node');
const expressPouchDB = require('express-pouchdb');

PouchDB.plugin(require('pouchdb-adapter-memory'));
const MemoryPouch = PouchDB.defaults({ adapter: 'memory' });

const data = process.env.DATA || fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'couch-server-'));
fs.mkdirSync(data, { recursive: true });
// PouchDB still makes an empty folder per database name relative to the working directory, even with the memory
// adapter: work inside DATA so nothing lands in the caller's folder (the test removes DATA at the end).
process.chdir(data);

const app = express();
app.use(
  '/',
  expressPouchDB(MemoryPouch, {
    mode: 'fullCouchDB',
    configPath: path.join(data, 'config.json'),
    logPath: path.join(data, 'log.txt'),
    // gzip stalls streamed feeds; fauxton and the request log are dead weight in tests.
    overrideMode: { exclude: ['compression', 'routes/fauxton', 'routes/http-log'] },
  }),
);

const server = app.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`listening http://127.0.0.1:${address.port}\n`);
});
// Everything lives in memory: nothing to flush, and waiting for clients' idle keep-alive sockets only slows teardown.
const stop = () => {
  server.closeAllConnections();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
