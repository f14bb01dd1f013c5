import { NOT_SYNCHRONIZED_DDOC, REFERENCES_DDOC } from './references-view.ts';

/**
 * Design documents the stack itself relies on: cozy-stack's Indexes and Views (pkg/couchdb/index.go), whose
 * names the plugins implementing those services reuse, plus this plugin's own views on io.cozy.files. Nobody may
 * delete them through /data (cozy's CheckDesignDocCanBeDeleted).
 */
const STACK_DESIGN_DOCS: Readonly<Record<string, readonly string[]>> = {
  'io.cozy.permissions': ['by-source-and-type', 'byToken', 'byDoc', 'permissions-by-doctype', 'by-short-code', 'permissions'],
  'io.cozy.files': [
    'dir-children',
    'dir-by-path',
    'by-mime-updated-at',
    'with-conflicts',
    'by-sharing-status',
    'by-dir-id-updated-at',
    'disk-usage',
    'not-synchronized-on',
    'referenced-by',
    'referenced-by-sorted-by-datetime',
    'by-parent-type-name',
    REFERENCES_DDOC,
    NOT_SYNCHRONIZED_DDOC,
  ],
  'io.cozy.files.versions': ['old-versions-disk-usage'],
  'io.cozy.jobs': ['by-worker-and-state', 'by-trigger-id', 'by-queued-at'],
  'io.cozy.triggers': ['by-worker-and-type'],
  'io.cozy.oauth.clients': ['by-client-name', 'by-notification-platform', 'connected-user-clients'],
  'io.cozy.sessions.logins': ['by-os-browser-ip'],
  'io.cozy.notifications': ['by-source-id'],
  'io.cozy.contacts': ['by-me', 'by-groups', 'contacts-by-email'],
  'com.bitwarden.ciphers': ['by-folder-id', 'by-organization-id'],
  'io.cozy.sharings': ['active', 'sharings-by-doctype'],
  'io.cozy.shared': ['shared-docs-by-sharingid'],
  'io.cozy.nextcloud.migrations': ['by-status'],
};

export function isStackDesignDoc(doctype: string, ddoc: string): boolean {
  return STACK_DESIGN_DOCS[doctype]?.includes(ddoc) ?? false;
}
