import type { AuthService } from '../auth/auth-service.ts';
import type { DevicePasswordService } from '../auth/device-passwords.ts';
import type { SessionService } from '../auth/sessions.ts';
import type { ClusterPorts } from '../cluster/types.ts';
import type { DocEventBus } from '../events/doc-events.ts';
import type { InstanceService } from '../instances/instance-service.ts';
import type { DocumentStore } from '../store/document-store.ts';
import { defineCapability } from './capability.ts';

/**
 * Services the kernel itself provides. Plugins require them like any capability, so the loader can check
 * ranges and a future kernel can change one without breaking plugins built for the old one unnoticed.
 */
export const STORE = defineCapability<DocumentStore>('store', '1.0.0');
export const CLUSTER = defineCapability<ClusterPorts>('cluster', '1.0.0');
export const INSTANCES = defineCapability<InstanceService>('instances', '1.0.0');
export const DOC_EVENTS = defineCapability<DocEventBus>('doc-events', '1.0.0');
/** Request authentication and permission checks: no plugin parses a token itself. */
export const AUTH = defineCapability<AuthService>('auth', '1.0.0');
export const SESSIONS = defineCapability<SessionService>('sessions', '1.0.0');
export const DEVICE_PASSWORDS = defineCapability<DevicePasswordService>('device-passwords', '1.0.0');

export const KERNEL_CAPABILITIES = [STORE, CLUSTER, INSTANCES, DOC_EVENTS, AUTH, SESSIONS, DEVICE_PASSWORDS] as const;
