import { applyPropPatch, type DeadProperty, type PropPatchOp } from './properties.ts';

/**
 * Dead properties kept apart from the resources they belong to, keyed by a string the backend chooses (a
 * path, a document id). `copyTree`/`moveTree`/`deleteTree` act on a key and every key below it (`key/…`), for
 * backends keyed by path.
 */
export interface DeadPropertyStore {
  get(key: string): Promise<DeadProperty[]>;
  patch(key: string, ops: PropPatchOp[]): Promise<void>;
  deleteTree(key: string): Promise<void>;
  copyTree(from: string, to: string): Promise<void>;
  moveTree(from: string, to: string): Promise<void>;
}

const below = (root: string, key: string) => key === root || key.startsWith(root === '/' ? '/' : `${root}/`);

export class MemoryDeadPropertyStore implements DeadPropertyStore {
  readonly #props = new Map<string, DeadProperty[]>();

  async get(key: string): Promise<DeadProperty[]> {
    return this.#props.get(key) ?? [];
  }

  async patch(key: string, ops: PropPatchOp[]): Promise<void> {
    const next = applyPropPatch(this.#props.get(key) ?? [], ops);
    if (next.length) this.#props.set(key, next);
    else this.#props.delete(key);
  }

  async deleteTree(key: string): Promise<void> {
    for (const k of [...this.#props.keys()]) if (below(key, k)) this.#props.delete(k);
  }

  async copyTree(from: string, to: string): Promise<void> {
    for (const [k, v] of [...this.#props]) if (below(from, k)) this.#props.set(to + k.slice(from.length), v.map((p) => ({ ...p })));
  }

  async moveTree(from: string, to: string): Promise<void> {
    for (const [k, v] of [...this.#props]) {
      if (!below(from, k)) continue;
      this.#props.delete(k);
      this.#props.set(to + k.slice(from.length), v);
    }
  }
}
