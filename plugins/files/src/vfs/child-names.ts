import { BoundedMap, FILES_DOCTYPE, type Cache, type DocEvent, type InstanceRef } from '@cozy-ts/kernel';

/** Directories with more children are not listed: their names are looked up one at a time in the by-parent view. */
export const MAX_LISTED_CHILDREN = 1000;
/** Listings kept per process: at most ~200,000 names (a few tens of MiB) when all are full. */
const MAX_LISTINGS = 200;
const MAX_INSTANCES = 10_000;

interface InstanceState {
  /** The instance's tree generation this process's listings agree with; undefined: none yet. */
  known?: number;
  /** Bumped to forget every listing of the instance at once (a listing of another epoch is dead). */
  epoch: number;
  /** Doc events seen: a listing read while one arrived may have missed it and is not kept. */
  events: number;
}

interface Listing {
  epoch: number;
  /** Name to id of every child; null when the directory has too many children to be listed. */
  names: Map<string, string> | null;
}

/** What a listing read under the tree lock started from; see {@link ChildNames.keep}. */
export interface ListingSnapshot {
  domain: string;
  epoch: number;
  events: number;
}

/** A cached answer: the id of the child of that name, `null` for none, `undefined` when the cache cannot say. */
export type CachedChild = { id: string } | null | undefined;

/**
 * The names in a directory, so that looking up a name that is not there (each new upload, twice: the caller's
 * "does it exist" and the check under the tree lock) costs no query of the by-parent view (~2-3 ms of CPU each on
 * the embedded store, against ~0.1 ms for the point read a found name still costs).
 *
 * Correctness rests on the tree generation, a counter per instance in the cluster cache that every holder of the
 * tree lock increments as soon as it holds it, before any write ({@link changing}). A process keeps its listings
 * only while the generation moved by its own increments alone (each one exactly one past the last it knew); any other
 * value means another process took the tree lock since (and may have changed the tree, or died mid-change), and
 * every listing of the instance is forgotten. A listing is only read from the view while this process holds the
 * tree lock, so no change of another process is under way while it is read; after that it follows this process's own changes
 * through the doc events (which the bus delivers before the writer's `await` returns, see
 * {@link FilesIndexNames}). The answer under the tree lock, the one that decides name uniqueness, is therefore
 * exact; outside the lock the generation is read first, as a hint is: a listing is used only while the generation
 * it knows is still the current one.
 *
 * Positive answers are never trusted: the caller reads the entry by id and checks its name and parent. A writer that
 * changes io.cozy.files names without the tree lock (none does: the VFS service is the only one) would not move the
 * generation; in this process its doc events still update the listings.
 */
export class ChildNames {
  readonly #states = new BoundedMap<string, InstanceState>(MAX_INSTANCES);
  readonly #listings = new BoundedMap<string, Listing>(MAX_LISTINGS);
  /**
   * Epochs come from one counter for all instances, so a state made again for an instance (after `forget`, or after
   * being evicted) never takes up an epoch its old listings carry.
   */
  #epochs = 0;

  constructor(private readonly cache: Cache) {}

  #key(inst: InstanceRef): string {
    return `files:tree-gen:${inst.domain}`;
  }

  #state(domain: string): InstanceState {
    let st = this.#states.get(domain);
    if (!st) {
      st = { epoch: ++this.#epochs, events: 0 };
      this.#states.set(domain, st);
    }
    return st;
  }

  /** Under the tree lock, before the holder changes anything: moves the instance's generation on. */
  async changing(inst: InstanceRef): Promise<void> {
    const gen = await this.cache.increment(this.#key(inst));
    const st = this.#state(inst.domain);
    if (st.known === undefined || gen !== st.known + 1) st.epoch = ++this.#epochs;
    st.known = gen;
  }

  /**
   * What the listings say of `name` in `dirId`. `locked`: this process holds the tree lock, so the generation it
   * incremented is the current one and need not be read again.
   */
  async lookup(inst: InstanceRef, dirId: string, name: string, locked: boolean): Promise<CachedChild> {
    const st = this.#state(inst.domain);
    if (!locked) {
      const gen = await this.cache.get<number>(this.#key(inst));
      if (typeof gen !== 'number') return undefined;
      if (st.known === undefined || gen > st.known) {
        st.known = gen;
        st.epoch = ++this.#epochs;
        return undefined;
      }
      // Older than what this process knows: a read that raced this process's own increment.
      if (gen < st.known) return undefined;
    }
    const listing = this.#listings.touch(`${inst.domain}\n${dirId}`);
    if (!listing || listing.epoch !== st.epoch || !listing.names) return undefined;
    const id = listing.names.get(name);
    return id === undefined ? null : { id };
  }

  /** Whether a directory is known to have too many children to be listed (the view answers for it). */
  tooBig(inst: InstanceRef, dirId: string): boolean {
    const listing = this.#listings.get(`${inst.domain}\n${dirId}`);
    return listing !== undefined && listing.names === null && listing.epoch === this.#state(inst.domain).epoch;
  }

  /** To take before reading a listing from the view (under the tree lock). */
  snapshot(inst: InstanceRef): ListingSnapshot {
    const st = this.#state(inst.domain);
    return { domain: inst.domain, epoch: st.epoch, events: st.events };
  }

  /**
   * Keeps a listing read from the view under the tree lock, unless the generation was found moved or a doc event
   * came in meanwhile. `rows`: [name, id] in the view's key order (directories first), or null when too many.
   */
  keep(snap: ListingSnapshot, dirId: string, rows: Array<[string, string]> | null): void {
    const st = this.#state(snap.domain);
    if (st.epoch !== snap.epoch || st.events !== snap.events) return;
    let names: Map<string, string> | null = null;
    if (rows) {
      names = new Map();
      // Equal names (an import may have made some): the first in key order, as the view lookup answers.
      for (const [name, id] of rows) if (!names.has(name)) names.set(name, id);
    }
    this.#listings.set(`${snap.domain}\n${dirId}`, { epoch: st.epoch, names });
  }

  /** Forgets a directory's listing (an entry found elsewhere than its listing said). */
  drop(inst: InstanceRef, dirId: string): void {
    this.#listings.delete(`${inst.domain}\n${dirId}`);
  }

  forget(inst: InstanceRef): void {
    this.#states.delete(inst.domain);
  }

  /** Follows a write of this process: the entry leaves its old name and directory and takes its new ones. */
  changed(e: DocEvent): void {
    if (e.doctype !== FILES_DOCTYPE) return;
    const st = this.#states.get(e.domain);
    if (!st) return;
    st.events++;
    const { doc, old } = e;
    if (!old && e.verb !== 'CREATED') {
      // Where it was is unknown: nothing can be said of any listing.
      st.epoch = ++this.#epochs;
      return;
    }
    const listing = (dirId: unknown): Listing | undefined => {
      if (typeof dirId !== 'string') return undefined;
      const l = this.#listings.get(`${e.domain}\n${dirId}`);
      return l && l.epoch === st.epoch ? l : undefined;
    };
    if (old && typeof old.name === 'string') {
      const l = listing(old.dir_id);
      if (l?.names && l.names.get(old.name) === old._id) l.names.delete(old.name);
    }
    if (doc._deleted) {
      if (old?.type === 'directory') this.#listings.delete(`${e.domain}\n${old._id}`);
      return;
    }
    if (typeof doc.name !== 'string') return;
    const l = listing(doc.dir_id);
    if (!l?.names) return;
    const there = l.names.get(doc.name);
    if (there === undefined) {
      if (l.names.size >= MAX_LISTED_CHILDREN) l.names = null;
      else l.names.set(doc.name, doc._id);
    } else if (there !== doc._id) {
      // Two entries of one name: which one the view puts first depends on their types; read it again.
      this.#listings.delete(`${e.domain}\n${doc.dir_id as string}`);
    }
  }
}
