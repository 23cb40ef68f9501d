// Resolved run configs are plain objects assembled from several places of the file (the base
// sections, ladder patches, grid values, variables). Origins remembers, for every container and
// every key set by a patch, the path in the YAML document it came from, so a problem found in a
// resolved run is reported at the line that caused it.
import type { Path } from './errors.ts';

export interface Origin { path: Path; via?: string }

export class Origins {
  private containers = new WeakMap<object, Path>();
  private keys = new WeakMap<object, Map<string | number, Origin>>();

  container(o: object): Path | undefined { return this.containers.get(o); }

  /** Deep-copies a plain JSON value, recording `docPath` as the origin of every copied container. */
  cloneFrom<T>(value: T, docPath: Path): T {
    if (value === null || typeof value !== 'object') return value;
    const out: any = Array.isArray(value) ? [] : {};
    this.containers.set(out, docPath);
    for (const [k, v] of Object.entries(value)) {
      const key = Array.isArray(value) ? Number(k) : k;
      out[key] = this.cloneFrom(v, [...docPath, key]);
    }
    return out;
  }

  /** Deep-copies a resolved value, keeping the origins it already has. */
  clone<T>(value: T): T {
    if (value === null || typeof value !== 'object') return value;
    const out: any = Array.isArray(value) ? [] : {};
    const c = this.containers.get(value as object);
    if (c) this.containers.set(out, c);
    const ks = this.keys.get(value as object);
    if (ks) this.keys.set(out, new Map(ks));
    for (const [k, v] of Object.entries(value)) out[Array.isArray(value) ? Number(k) : k] = this.clone(v);
    return out;
  }

  setKey(container: object, key: string | number, origin: Origin): void {
    let m = this.keys.get(container);
    if (!m) { m = new Map(); this.keys.set(container, m); }
    m.set(key, origin);
  }

  /** Where the value at `path` inside `root` was written in the document. */
  of(root: unknown, path: Path): Origin {
    let node: any = root;
    let best: Origin = { path: this.containers.get(root as object) ?? [] };
    for (let i = 0; i < path.length; i++) {
      if (node === null || typeof node !== 'object') break;
      const key = path[i];
      const explicit = this.keys.get(node)?.get(key);
      const base = this.containers.get(node);
      if (explicit) best = { path: [...explicit.path, ...path.slice(i + 1)], via: explicit.via };
      else if (base) best = { path: [...base, ...path.slice(i)], via: best.via };
      node = node[key];
    }
    return best;
  }
}
