import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

/** The kernel's version is the plugin API's version: plugins' `manifest.kernel` ranges are checked against it. */
export const KERNEL_VERSION: string = pkg.version;
