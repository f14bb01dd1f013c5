/**
 * When `cozy` runs from the precompiled build (kernel/bin/build.js), the launcher leaves this hook on globalThis:
 * plugin entries and config files are then imported from the build instead of their TypeScript sources, which
 * plain Node cannot load and which would otherwise be a second copy of the kernel. Under tsx (tests, `COZY_TSX=1`)
 * there is no hook and sources are imported directly.
 */
export interface PrecompiledBuild {
  /** The built module of a workspace package entry (its real path), or undefined when it is not in the build. */
  entryUrl(entryPath: string): string | undefined;
  /** A module URL for a config file: compiled against the build when it is TypeScript. */
  configUrl(file: string): Promise<string>;
}

const HOOK = Symbol.for('cozy-ts.precompiled-build');

export function precompiledBuild(): PrecompiledBuild | undefined {
  return (globalThis as { [HOOK]?: PrecompiledBuild })[HOOK];
}
