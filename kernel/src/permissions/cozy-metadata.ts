/**
 * The `cozyMetadata` block cozy-stack keeps on the documents it writes (pkg/metadata), as far as permission
 * documents use it: who created the document and which apps touched it last.
 */
export interface UpdatedByApp {
  slug: string;
  date: string;
  version?: string;
  instance?: string;
}

export interface CozyMetadata {
  doctypeVersion: string;
  metadataVersion: number;
  createdAt: string;
  createdByApp?: string;
  updatedAt: string;
  updatedByApps?: UpdatedByApp[];
  [field: string]: unknown;
}

const METADATA_VERSION = 1;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Fresh metadata; without a slug (CLI) nobody is named as creator, as cozy's metadata.New. */
export function newMetadata(doctypeVersion: string, slug: string | undefined, now = new Date()): CozyMetadata {
  const at = now.toISOString();
  const md: CozyMetadata = { doctypeVersion, metadataVersion: METADATA_VERSION, createdAt: at, updatedAt: at };
  if (slug) {
    md.createdByApp = slug;
    md.updatedByApps = [{ slug, date: at }];
  }
  return md;
}

/**
 * Metadata a client sent, completed with the defaults it left out (cozy's EnsureCreatedFields). Anything but
 * an object is ignored, so a malformed block cannot make the document unreadable.
 */
export function completeMetadata(given: unknown, defaults: CozyMetadata): CozyMetadata {
  if (!isObject(given)) return defaults;
  const md = { ...defaults, ...given } as CozyMetadata;
  for (const key of ['doctypeVersion', 'createdAt', 'updatedAt', 'createdByApp'] as const) {
    if (typeof md[key] !== 'string' || md[key] === '') {
      if (defaults[key] === undefined) delete md[key];
      else md[key] = defaults[key] as string;
    }
  }
  if (typeof md.metadataVersion !== 'number' || md.metadataVersion === 0) md.metadataVersion = defaults.metadataVersion;
  if (!Array.isArray(md.updatedByApps)) {
    if (defaults.updatedByApps === undefined) delete md.updatedByApps;
    else md.updatedByApps = defaults.updatedByApps;
  }
  return md;
}

/** Records an update by `slug` (replacing its previous entry), or just the date when nobody is named. */
export function touchMetadata(md: CozyMetadata, slug: string | undefined, now = new Date()): CozyMetadata {
  const at = now.toISOString();
  const touched: CozyMetadata = { ...md, updatedAt: at };
  if (slug) {
    const entries = md.updatedByApps ?? [];
    const entry = { slug, date: at };
    touched.updatedByApps = entries.some((e) => e.slug === slug)
      ? entries.map((e) => (e.slug === slug ? entry : e))
      : [...entries, entry];
  }
  return touched;
}
