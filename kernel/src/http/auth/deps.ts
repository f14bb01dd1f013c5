import type { Logger } from 'pino';
import type { AuthService } from '../../auth/auth-service.ts';
import type { DevicePasswordService } from '../../auth/device-passwords.ts';
import type { SessionService } from '../../auth/sessions.ts';
import type { ClusterPorts } from '../../cluster/types.ts';
import type { InstanceService } from '../../instances/instance-service.ts';
import type { PermissionDocService } from '../../permissions/permission-docs.ts';
import type { DocumentStore } from '../../store/document-store.ts';

/** What the kernel's own auth routes (/auth, /permissions) are built from. */
export interface AuthRouteDeps {
  instances: InstanceService;
  store: DocumentStore;
  cluster: ClusterPorts;
  sessions: SessionService;
  auth: AuthService;
  devices: DevicePasswordService;
  permissions: PermissionDocService;
  log: Logger;
}
