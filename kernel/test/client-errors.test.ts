import { connect, type AddressInfo } from 'node:net';
import t from 'tap';
import { startTestKernel } from '../src/testing/test-kernel.ts';

/** Writes raw bytes and returns what the server answered before it closed the connection. */
function raw(port: number, bytes: string): Promise<{ status: number; contentType: string; body: string }> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    let data = '';
    sock.setEncoding('latin1');
    sock.on('data', (c: string) => (data += c));
    sock.on('error', reject);
    sock.on('close', () => {
      const [head = '', body = ''] = data.split('\r\n\r\n');
      resolve({
        status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0),
        contentType: /^content-type: *(.*)$/im.exec(head)?.[1]?.trim() ?? '',
        body,
      });
    });
    // Not end(): a half-closed socket may lose an answer that comes after a wait.
    sock.write(bytes);
  });
}

t.test('errors raised before routing are JSON:API documents too, not fastify\'s own shape', async (t) => {
  const tk = await startTestKernel({ config: { plugins: { 'cozy-ts-plugin-hello': {} } } });
  t.teardown(() => tk.close());
  await tk.createInstance('alice.localhost');
  await tk.kernel.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = tk.kernel.app.server.address() as AddressInfo;

  const badUrl = await raw(port, 'GET /hello/%zz HTTP/1.1\r\nHost: alice.localhost\r\nConnection: close\r\n\r\n');
  t.equal(badUrl.status, 400, 'a URL that does not percent-decode');
  t.match(badUrl.contentType, /application\/vnd\.api\+json/);
  t.match(JSON.parse(badUrl.body), { errors: [{ status: '400', title: 'Bad Request', code: 'COZY_ERR_HTTP_BAD_URL' }] });

  const bigHeader = await raw(port, `GET /hello/ HTTP/1.1\r\nHost: alice.localhost\r\nX-Big: ${'x'.repeat(20_000)}\r\n\r\n`);
  t.equal(bigHeader.status, 431, 'headers over the limit');
  t.match(bigHeader.contentType, /application\/vnd\.api\+json/);
  t.same(JSON.parse(bigHeader.body), {
    errors: [{ status: '431', title: 'Request Header Fields Too Large', code: 'COZY_ERR_HTTP_HEADER_OVERFLOW', detail: 'Exceeded maximum allowed HTTP header size' }],
  });

  const headOverflow = await raw(port, `HEAD /hello/ HTTP/1.1\r\nHost: alice.localhost\r\nX-Big: ${'x'.repeat(20_000)}\r\n\r\n`);
  t.equal(headOverflow.status, 431, 'the same for HEAD');
  t.equal(headOverflow.body, '', 'without a body after the head, which a client would read as garbage');

  const garbage = await raw(port, 'GARBAGE\r\n\r\n');
  t.equal(garbage.status, 400, 'a request line that is not HTTP');
  t.match(JSON.parse(garbage.body), { errors: [{ status: '400', code: 'COZY_ERR_HTTP_MALFORMED' }] });

  const fine = await raw(port, 'GET /hello/ HTTP/1.1\r\nHost: alice.localhost\r\nConnection: close\r\n\r\n');
  t.equal(fine.status, 200, 'the server still answers');
});
