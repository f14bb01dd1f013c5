import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEVICE_PASSWORDS, type DeviceScope, type InstanceDoc } from '@cozy-ts/kernel';
import { startTestKernel, type TestKernel } from '@cozy-ts/kernel/testing';
import { startTwoProcesses } from '../../../kernel/test/helpers/shared-ports.ts';

export interface WebdavEnv {
  tk: TestKernel;
  inst: InstanceDoc;
  port: number;
  /** `http://127.0.0.1:<port>` */
  origin: string;
  /** `http://127.0.0.1:<port>/dav/files/` */
  url: string;
  /** A device password scoped to files. */
  password: string;
  /** `Basic …` header value for the files device password. */
  basic: string;
  devicePassword(scopes: DeviceScope[]): Promise<string>;
}

export const PLUGINS = {
  '@cozy-ts/plugin-vfs-local': {},
  '@cozy-ts/plugin-files': {},
  '@cozy-ts/plugin-webdav': {},
};

export function basicHeader(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

/**
 * A kernel with files + vfs-local + webdav listening on a free loopback port, an instance whose domain is that
 * address (real clients send Host: 127.0.0.1:<port>), and a files-scoped device password.
 */
export async function startWebdav(
  t: { teardown(fn: () => unknown): void }, config: Record<string, unknown> = {}, instance: { diskQuota?: number } = {}, plugins: Record<string, unknown> = {},
): Promise<WebdavEnv> {
  const tk = await startTestKernel({ config: { plugins: { ...PLUGINS, '@cozy-ts/plugin-webdav': config, ...plugins } } });
  t.teardown(() => tk.close());
  await tk.kernel.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = tk.kernel.app.server.address() as AddressInfo;
  const inst = await tk.createInstance(`127.0.0.1:${port}`, instance);
  const devices = tk.kernel.container.resolve(DEVICE_PASSWORDS.token);
  const devicePassword = async (scopes: DeviceScope[]) => (await devices.create(inst, `test ${scopes.join('+')}`, scopes)).password;
  const password = await devicePassword(['files']);
  const origin = `http://127.0.0.1:${port}`;
  return { tk, inst, port, origin, url: `${origin}/dav/files/`, password, basic: basicHeader('me', password), devicePassword };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * One request with the path sent exactly as given (fetch would normalise `..` and escapes away), over a fresh
 * connection.
 */
export function raw(env: WebdavEnv, method: string, path: string, headers: Record<string, string> = {}, body?: string | Buffer): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: env.port, method, path, headers: { authorization: env.basic, ...headers }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** fetch with the files device password, against a path below `/dav/files`. */
export function dav(env: WebdavEnv, method: string, path: string, init: { headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<Response> {
  return fetch(`${env.url}${path.replace(/^\//, '')}`, { method, headers: { authorization: env.basic, ...init.headers }, body: init.body });
}

const OC_NS = 'http://owncloud.org/ns';
const NC_NS = 'http://nextcloud.org/ns';

/** One response of a multistatus: found properties (`oc:`/`nc:`-prefixed local name -> inner XML) and 404 names. */
export interface MultistatusEntry {
  found: Map<string, string>;
  missing: Set<string>;
}

/** The responses of a multistatus as our server writes it (`D:` prefix, other namespaces declared inline), by decoded href. */
export function parseMultistatus(body: string): Map<string, MultistatusEntry> {
  const out = new Map<string, MultistatusEntry>();
  for (const [, response] of body.matchAll(/<D:response>([\s\S]*?)<\/D:response>/g)) {
    const href = decodeURIComponent(/<D:href>([^<]*)<\/D:href>/.exec(response as string)?.[1] ?? '');
    const found = new Map<string, string>();
    const missing = new Set<string>();
    for (const [, props, status] of (response as string).matchAll(/<D:propstat><D:prop>([\s\S]*?)<\/D:prop><D:status>HTTP\/1.1 (\d+)[^<]*<\/D:status>/g)) {
      for (const m of (props as string).matchAll(/<(?:D:)?([\w-]+)(?: xmlns="([^"]*)")?(?:\/>|>([\s\S]*?)<\/(?:D:)?\1>)/g)) {
        const key = `${m[2] === OC_NS ? 'oc:' : m[2] === NC_NS ? 'nc:' : ''}${m[1]}`;
        if (status === '200') found.set(key, m[3] ?? '');
        else missing.add(key);
      }
    }
    out.set(href, { found, missing });
  }
  return out;
}

export const PROPFIND_ALL = '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>';

export interface TwoProcessReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export type TwoProcessSend = (method: string, path: string, headers?: Record<string, string>, body?: string) => Promise<TwoProcessReply>;

/**
 * Two kernels over one store and one cluster, both listening, serving one instance with a device password:
 * process 2 is reached with process 1's Host, as behind a proxy. Paths are sent under `prefix`.
 */
export async function startTwoDavProcesses(t: Parameters<typeof startTwoProcesses>[0], prefix = '/dav/files'): Promise<{ one: TwoProcessSend; two: TwoProcessSend; domain: string }> {
  const files = await mkdtemp(join(tmpdir(), 'webdav-two-'));
  t.teardown(() => rm(files, { recursive: true, force: true }));
  const { p1, p2 } = await startTwoProcesses(t, { config: { plugins: { ...PLUGINS, '@cozy-ts/plugin-vfs-local': { root: files } } } });
  await p1.kernel.app.listen({ host: '127.0.0.1', port: 0 });
  await p2.kernel.app.listen({ host: '127.0.0.1', port: 0 });
  const port1 = (p1.kernel.app.server.address() as AddressInfo).port;
  const port2 = (p2.kernel.app.server.address() as AddressInfo).port;
  const domain = `127.0.0.1:${port1}`;
  const inst = await p1.createInstance(domain);
  const { password } = await p1.kernel.container.resolve(DEVICE_PASSWORDS.token).create(inst, 'two', ['files']);
  const authorization = basicHeader('me', password);
  const sender = (port: number): TwoProcessSend => (method, path, headers = {}, body) =>
    new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: `${prefix}${path}`, method, headers: { host: domain, authorization, ...headers }, agent: false }, (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      });
      req.on('error', reject);
      req.end(body);
    });
  return { one: sender(port1), two: sender(port2), domain };
}
