import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Test } from 'tap';
import { DEVICE_PASSWORDS, type DevicePasswordService, type InstanceDoc } from '@cozy-ts/kernel';
import { startTestKernel, type TestKernel } from '@cozy-ts/kernel/testing';

export interface SyncServer {
  tk: TestKernel;
  inst: InstanceDoc;
  port: number;
  /** `http://127.0.0.1:<port>`: the instance's domain is `127.0.0.1:<port>`, so clients need no Host header. */
  origin: string;
  /** A device password with the calendars and contacts scopes. */
  password: string;
  devicePassword(scopes: string[]): Promise<string>;
  /** An HTTP request with the device password, through the real socket. */
  dav(method: string, path: string, body?: string, headers?: Record<string, string>): Promise<{ status: number; headers: Headers; text: string }>;
}

/** A kernel with the sync plugin listening on a free port, one instance and a device password; stopped at teardown. */
export async function startSync(t: Test, pluginConfig: Record<string, unknown> = {}, extraPlugins: Record<string, unknown> = {}): Promise<SyncServer> {
  const tk = await startTestKernel({ config: { plugins: { '@cozy-ts/plugin-sync': pluginConfig, ...extraPlugins } } });
  t.teardown(() => tk.close());
  await tk.kernel.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = tk.kernel.app.server.address() as AddressInfo;
  const inst = await tk.createInstance(`127.0.0.1:${port}`);
  const devices = tk.kernel.container.resolve<DevicePasswordService>(DEVICE_PASSWORDS.token);
  const devicePassword = async (scopes: string[]) => (await devices.create(inst, 'test', scopes)).password;
  const password = await devicePassword(['calendars', 'contacts']);
  const origin = `http://127.0.0.1:${port}`;
  const authz = `Basic ${Buffer.from(`me:${password}`).toString('base64')}`;
  const dav: SyncServer['dav'] = async (method, path, body, headers = {}) => {
    const res = await fetch(`${origin}${path}`, { method, body, headers: { authorization: authz, ...headers }, redirect: 'manual' });
    return { status: res.status, headers: res.headers, text: await res.text() };
  };
  return { tk, inst, port, origin, password, devicePassword, dav };
}

/** An HTTP request to 127.0.0.1 with an explicit Host header (fetch cannot set one). */
export function hostRequest(port: number, host: string, method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers: { host, ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}
