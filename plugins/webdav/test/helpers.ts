import type { AddressInfo } from 'node:net';
import { DEVICE_PASSWORDS, type DeviceScope, type InstanceDoc } from '@cozy-ts/kernel';
import { startTestKernel, type TestKernel } from '@cozy-ts/kernel/testing';

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
export async function startWebdav(t: { teardown(fn: () => unknown): void }, config: Record<string, unknown> = {}): Promise<WebdavEnv> {
  const tk = await startTestKernel({ config: { plugins: { ...PLUGINS, '@cozy-ts/plugin-webdav': config } } });
  t.teardown(() => tk.close());
  await tk.kernel.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = tk.kernel.app.server.address() as AddressInfo;
  const inst = await tk.createInstance(`127.0.0.1:${port}`);
  const devices = tk.kernel.container.resolve(DEVICE_PASSWORDS.token);
  const devicePassword = async (scopes: DeviceScope[]) => (await devices.create(inst, `test ${scopes.join('+')}`, scopes)).password;
  const password = await devicePassword(['files']);
  const origin = `http://127.0.0.1:${port}`;
  return { tk, inst, port, origin, url: `${origin}/dav/files/`, password, basic: basicHeader('me', password), devicePassword };
}
