import { defineError } from '../errors.ts';

/**
 * Errors of the /permissions API. Messages are cozy-stack's (model/permission/errors.go,
 * web/permissions/permissions.go) where it has one, so clients that match on them keep working.
 */
export const ShareErrors = {
  onlyApps: defineError('COZY_ERR_ONLY_APPS_CREATE_SHARES', 403, 'Only apps can create sharing permissions'),
  notParent: defineError('COZY_ERR_NOT_PARENT', 403, 'Permissions can be updated only by its parent'),
  reservedDoctype: defineError('COZY_ERR_RESERVED_DOCTYPE', 403, 'Reserved doctype'),
  patchCodeOrSet: defineError(
    'COZY_ERR_PATCH_CODE_OR_SET',
    400,
    "The patch doc should have property 'codes' or 'permissions', not both",
  ),
  badTtl: defineError('COZY_ERR_BAD_TTL', 400, 'The ttl parameter is not a duration'),
  invalidAttribute: defineError('COZY_ERR_INVALID_ATTRIBUTE', 422, 'Invalid attribute'),
  notFound: defineError('COZY_ERR_PERMISSION_NOT_FOUND', 404, 'Permission not found'),
  wrongPassword: defineError('COZY_ERR_SHARE_PASSWORD', 403, 'Share by link Password Invalid'),
  listForbidden: defineError(
    'COZY_ERR_LIST_PERMISSIONS_FORBIDDEN',
    403,
    'You need GET permission on whole type to list its permissions',
  ),
} as const;
