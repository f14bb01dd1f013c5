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
    // The files plugin's sum of trashed sizes (the quota counts them).
    'cozy-ts-trash-usage',
  ],
  'io.cozy.files.versions': ['old-versions-disk-usage'],
  // by-worker-queued_at, by-trigger_id-queued_at: the jobs plugin's listings.
  'io.cozy.jobs': ['by-worker-and-state', 'by-trigger-id', 'by-queued-at', 'by-worker-queued_at', 'by-trigger_id-queued_at'],
  'io.cozy.triggers': ['by-worker-and-type'],
  'io.cozy.oauth.clients': ['by-client-name', 'by-notification-platform', 'connected-user-clients'],
  'io.cozy.sessions.logins': ['by-os-browser-ip'],
  'io.cozy.notifications': ['by-source-id'],
  // cozy-sync: the sync plugin's member and UID views (CalDAV/CardDAV collections).
  'io.cozy.contacts': ['by-me', 'by-groups', 'contacts-by-email', 'cozy-sync'],
  'io.cozy.calendar.events': ['cozy-sync'],
  'io.cozy.calendar.todos': ['cozy-sync'],
  'com.bitwarden.ciphers': ['by-folder-id', 'by-organization-id'],
  'io.cozy.sharings': ['active', 'sharings-by-doctype'],
  'io.cozy.shared': ['shared-docs-by-sharingid'],
  'io.cozy.nextcloud.migrations': ['by-status'],
};

export function isStackDesignDoc(doctype: string, ddoc: string): boolean {
  return STACK_DESIGN_DOCS[doctype]?.includes(ddoc) ?? false;
}
