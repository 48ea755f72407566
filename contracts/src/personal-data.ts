/**
 * Which fields of a message are personal data, and whose.
 *
 * Paths are dot-separated; a segment ending in `[]` means "each element of this array",
 * e.g. `contacts[].email`. A group's subject path and field paths share the same array
 * prefix, so `{ subject: 'contacts[].subjectId', fields: ['contacts[].email'] }` seals
 * each contact's email under that contact's own key.
 */
export interface PersonalDataGroup {
  /** Path to the data subject's id (a UUID v7) in the message. */
  subject: string;
  /** Paths of that subject's personal fields. Absent (optional) fields are skipped. */
  fields: string[];
}

/** A path with every `[]` segment replaced by a concrete index, e.g. `contacts.0.email`. */
export type ConcretePath = string;

interface Located {
  /** The concrete path of the value. */
  path: ConcretePath;
  value: unknown;
}

// Paths come from the contracts, a small fixed set: split each once.
const splitPaths = new Map<string, readonly string[]>();

function segments(path: string): readonly string[] {
  let parts = splitPaths.get(path);
  if (!parts) {
    parts = path.split('.');
    if (splitPaths.size < 10_000) splitPaths.set(path, parts);
  }
  return parts;
}

/** Every value at `path` in `root`, with its concrete path. Missing values are skipped. */
export function locate(root: unknown, path: string): Located[] {
  let frontier: Located[] = [{ path: '', value: root }];
  for (const segment of segments(path)) {
    const each = segment.endsWith('[]');
    const key = each ? segment.slice(0, -2) : segment;
    const next: Located[] = [];
    for (const { path: at, value } of frontier) {
      if (value === null || typeof value !== 'object' || !Object.hasOwn(value, key)) continue;
      const child = (value as Record<string, unknown>)[key];
      const childPath = at ? `${at}.${key}` : key;
      if (!each) {
        if (child !== undefined) next.push({ path: childPath, value: child });
        continue;
      }
      if (!Array.isArray(child)) continue;
      child.forEach((element, index) => next.push({ path: `${childPath}.${index}`, value: element }));
    }
    frontier = next;
  }
  return frontier;
}

/** The array prefix of a path: `contacts[]` for `contacts[].email`, '' for `email`. */
function arrayPrefix(path: string): string {
  const at = path.lastIndexOf('[]');
  return at < 0 ? '' : path.slice(0, at + 2);
}

function relative(path: string, prefix: string): string {
  return prefix ? path.slice(prefix.length + 1) : path;
}

export interface SubjectFields {
  subjectId: string;
  /** Concrete paths of this subject's personal values present in the message. */
  paths: ConcretePath[];
}

/**
 * For each subject named in `message`, the concrete paths of its personal values.
 * Fields of one subject from several groups are merged.
 */
export function personalFieldsBySubject(message: unknown, groups: readonly PersonalDataGroup[]): SubjectFields[] {
  const bySubject = new Map<string, Set<string>>();
  for (const group of groups) {
    const prefix = arrayPrefix(group.subject);
    const owners = prefix ? locate(message, prefix) : [{ path: '', value: message }];
    for (const owner of owners) {
      const subjectId = locate(owner.value, relative(group.subject, prefix))[0]?.value;
      if (typeof subjectId !== 'string') continue;
      const paths = bySubject.get(subjectId) ?? new Set<string>();
      for (const field of group.fields) {
        for (const found of locate(owner.value, relative(field, prefix))) {
          if (found.value === undefined) continue;
          paths.add(owner.path ? `${owner.path}.${found.path}` : found.path);
        }
      }
      bySubject.set(subjectId, paths);
    }
  }
  return [...bySubject].map(([subjectId, paths]) => ({ subjectId, paths: [...paths].sort() }));
}

/** Every subject id found at the given paths (references and owners alike), deduplicated. */
export function subjectIdsAt(message: unknown, paths: readonly string[]): string[] {
  const ids = new Set<string>();
  for (const path of paths) {
    for (const { value } of locate(message, path)) if (typeof value === 'string') ids.add(value);
  }
  return [...ids];
}

function parentOf(root: unknown, path: ConcretePath): { parent: Record<string, unknown>; key: string } | undefined {
  const parts = path.split('.');
  const key = parts.pop();
  let node: unknown = root;
  for (const part of parts) {
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, part)) return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  if (key === undefined || node === null || typeof node !== 'object') return undefined;
  return { parent: node as Record<string, unknown>, key };
}

export function readPath(root: unknown, path: ConcretePath): unknown {
  const at = parentOf(root, path);
  return at && Object.hasOwn(at.parent, at.key) ? at.parent[at.key] : undefined;
}

export function writePath(root: unknown, path: ConcretePath, value: unknown): void {
  const at = parentOf(root, path);
  if (at) at.parent[at.key] = value;
}

export function deletePath(root: unknown, path: ConcretePath): void {
  const at = parentOf(root, path);
  if (at) delete at.parent[at.key];
}

/** Every personal field path the groups declare, for redaction and documentation. */
export function personalFieldNames(groups: readonly PersonalDataGroup[]): string[] {
  return groups.flatMap((g) => g.fields);
}
