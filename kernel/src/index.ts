/**
 * @cozy-ts/kernel: everything a plugin may use. The kernel's semver is this module's semver.
 */
import 'reflect-metadata';

export { definePlugin } from './plugin-api.ts';
export { BoundedMap } from './bounded-map.ts';
export type { CozyPlugin, PluginContext, PluginHealth, PluginManifest, Requirement, RouteOptions, HealthStatus } from './plugin-api.ts';
export { defineCapability, type Capability } from './capabilities/capability.ts';
export { STORE, CLUSTER, INSTANCES, DOC_EVENTS } from './capabilities/kernel-services.ts';
export { defineConfig, type CozyConfig } from './boot/config.ts';
export type { JsonSchema } from './boot/config-schema.ts';
export { CozyError, defineError, isCozyError, KernelErrors, type CozyErrorOptions, type ErrorSource } from './errors.ts';
export { StoreErrors } from './store/store-errors.ts';
export { setErrorFamily, jsonApiRenderer, couchRenderer, type ErrorRenderer } from './http/error-edge.ts';
export { instanceOf } from './http/request-context.ts';
export { databaseName, instancePrefix, isValidDoctype } from './store/db-names.ts';
export type { DocumentStore, PutOptions } from './store/document-store.ts';
export type * from './store/types.ts';
export type { DocEvent, DocEventListener, DocVerb, DocEventBus } from './events/doc-events.ts';
export type { InstanceDoc, InstanceRef, InstanceInfo } from './instances/instance.ts';
export type { InstanceService, InstanceHook } from './instances/instance-service.ts';
export type { Cache, ClusterPorts, Lock, Locks, PubSub, AcquireOptions } from './cluster/types.ts';
export { KERNEL_VERSION } from './version.ts';
export { AUTH, SESSIONS, DEVICE_PASSWORDS } from './capabilities/kernel-services.ts';
export { REALTIME, type RealtimeService, type RealtimeEvent, type RealtimeVerb } from './capabilities/realtime.ts';
export { JOBS, type JobsService, type JobDoc, type JobState, type JobOptions, type JobRequest, type WorkerDefinition, type WorkerContext } from './capabilities/jobs.ts';
export { ContentWriterBase, type ContentWriterState } from './capabilities/content-writer-base.ts';
export { VFS, VfsErrors, checkWrittenContent, VFS_TRASH_PATH, VFS_RESERVED_NAMES, isValidFileId, isValidInternalId, isValidThumbFormat, checkFileId, checkVersionRef, checkThumbnailRef, vfsPathSegments, vfsEntrySegments, newInternalId, type VfsContent, type ContentRef, type VersionRef, type ByteRange, type WriteOptions, type ContentInfo, type ContentStat, type ContentWriter, type StoredEntry } from './capabilities/vfs.ts';
export type { AuthService, RequestAuth, AuthKind } from './auth/auth-service.ts';
export type { SessionService, SessionDoc } from './auth/sessions.ts';
export type { DevicePasswordService, DevicePasswordDoc, DeviceScope } from './auth/device-passwords.ts';
export { DEVICE_SCOPES } from './auth/device-passwords.ts';
export { AuthErrors } from './auth/auth-errors.ts';
export { PermissionSet } from './permissions/permission-set.ts';
export type { RequestVerb, Verb } from './permissions/verbs.ts';
export { toResource, readResource, JSONAPI_CONTENT_TYPE, acceptJsonApi, type JsonApiResource } from './http/jsonapi.ts';
export { SETTINGS_DOCTYPE, INSTANCE_SETTINGS_ID } from './instances/instance-service.ts';
export {
  registerPassphrase, changePassphrase, checkPassphrase, FORCE as FORCE_PASSPHRASE, PassphraseErrors,
  MIN_KDF_ITERATIONS, MAX_KDF_ITERATIONS, type NewPassphrase, type PassphraseDeps,
} from './auth/onboarding.ts';
export { openSession } from './auth/open-session.ts';
export { issueCsrf, checkCsrf, CsrfErrors, CSRF_FIELD } from './auth/csrf.ts';
export { acceptForms } from './http/form-body.ts';
export { escapeHtml } from './http/html.ts';
export { isBoundedRegex } from './store/regex-guard.ts';
export { domainWithoutPort } from './instances/domain.ts';
export { finishOnboarding } from './http/auth/onboarding-handler.ts';
export { isReadableDoctype, isWritableDoctype } from './permissions/reserved-doctypes.ts';
export { isValidDoctypeName } from './permissions/doctype.ts';
export { parseScope } from './permissions/parse.ts';
export { readPageQuery, nextPageParams, type PageQuery } from './http/pagination.ts';
export { FILES, FilesErrors, FILES_DOCTYPE, FILES_VERSIONS_DOCTYPE, ROOT_DIR_ID, TRASH_DIR_ID, TRASH_DIR_NAME, isDir, isFile, fileSize, type FilesService, type FileDoc, type DirDoc, type RegularFileDoc, type FileVersionDoc, type FilesCozyMetadata, type UpdatedByAppEntry, type DocReference, type FilesActor, type ChangeOptions, type NewDirInput, type NewFileInput, type OverwriteInput, type FilePatch, type UpdateOptions, type CopyTarget, type DirPage, type ListOptions, type WalkEntry, type FileContent, type DiskUsage } from './capabilities/files.ts';
