import { defineError } from '@cozy-ts/kernel';

export const NotificationErrors = {
  bad: defineError('COZY_ERR_NOTIFICATION_BAD', 400, 'Invalid notification'),
  unauthorized: defineError('COZY_ERR_NOTIFICATION_UNAUTHORIZED', 403, 'Only applications and OAuth clients can send notifications'),
  noCategory: defineError('COZY_ERR_NOTIFICATION_NO_CATEGORY', 403, 'No notification category is declared'),
  categoryNotFound: defineError('COZY_ERR_NOTIFICATION_CATEGORY_NOT_FOUND', 403, 'This notification category is not declared'),
  appNotFound: defineError('COZY_ERR_NOTIFICATION_APP_NOT_FOUND', 404, 'Application not found'),
  badMail: defineError('COZY_ERR_SENDMAIL_BAD', 400, 'Invalid mail'),
} as const;
