import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEVICE_PASSWORDS, type DevicePasswordService } from '../../kernel/src/index.ts';
import { startTestKernel } from '../../kernel/src/testing/test-kernel.ts';
import { repoRoot } from '../../test/helpers/processes.ts';
import type { Cleanup } from '../lib/report.ts';

/** Our CalDAV/CardDAV server in this process, one instance, a device password for both scopes; `base` ends in /sync. */
export async function startOurSyncServer(cleanup: Cleanup): Promise<{ server: Server; port: number; password: string; base: string }> {
  const tk = await startTestKernel({ config: { plugins: { '@cozy-ts/plugin-sync': {} } }, baseDir: repoRoot });
  cleanup.add(() => tk.close());
  await tk.kernel.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = tk.kernel.app.server.address() as AddressInfo;
  const inst = await tk.createInstance(`127.0.0.1:${port}`);
  const devices = tk.kernel.container.resolve<DevicePasswordService>(DEVICE_PASSWORDS.token);
  const { password } = await devices.create(inst, 'bench', ['calendars', 'contacts']);
  return { server: tk.kernel.app.server, port, password, base: `http://127.0.0.1:${port}/sync` };
}
