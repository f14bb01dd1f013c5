import type { Sharp, SharpOptions, CreateRaw, Create } from 'sharp';

type SharpFactory = (input?: Buffer | SharpOptions | { create: Create | CreateRaw }, options?: SharpOptions) => Sharp;

let loading: Promise<SharpFactory> | undefined;

/**
 * sharp on first use: libvips costs ~25 MiB of RSS and ~100 ms at import, which a Pi that never receives an
 * image should not pay at boot.
 */
export function loadSharp(): Promise<SharpFactory> {
  loading ??= import('sharp').then((mod) => {
    const sharp = mod.default;
    // One libvips worker thread per image: the queue bounds how many images are made at once, so the total stays
    // at the queue's concurrency instead of every core per image.
    sharp.concurrency(1);
    // The libvips operation cache keeps decoded images around for reuse; thumbnails never reuse one.
    sharp.cache(false);
    return sharp as SharpFactory;
  });
  loading.catch(() => (loading = undefined));
  return loading;
}
