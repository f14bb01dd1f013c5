const TITLES: Record<number, string> = {
  200: 'OK', 201: 'Created', 204: 'No Content', 207: 'Multi-Status', 304: 'Not Modified',
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed',
  409: 'Conflict', 412: 'Precondition Failed', 413: 'Request Entity Too Large', 415: 'Unsupported Media Type',
  422: 'Unprocessable Entity', 423: 'Locked', 424: 'Failed Dependency', 500: 'Internal Server Error',
  502: 'Bad Gateway', 507: 'Insufficient Storage',
};

export function statusTitle(status: number): string {
  return TITLES[status] ?? 'Unknown';
}
