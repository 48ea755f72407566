/**
 * Where a view rebuild's time goes: sorts every sample of a `.cpuprofile` (view-rebuild with
 * `--cpu-prof` writes `rebuild-<store>-<view>-run<N>-rebuild.cpuprofile` and `…-raw.cpuprofile`)
 * into the rebuild's steps — reading events, opening them (AES-GCM, key lookups), evolving,
 * reading documents, sealing documents, writing documents — by the nearest frame, from the
 * sampled function up its stack, that belongs to one of them. Async continuations start a new
 * stack, so a rule also matches the step's own functions, not only what they call.
 *   node --import tsx bench/src/tools/rebuild-profile.ts <file.cpuprofile> [more files…]
 * The profiler's own start-up shows in the profile; it is counted apart and left out of the shares.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

type Rule = [step: string, matches: (fn: string, url: string) => boolean];

const RULES: Rule[] = [
  ['(profiler)', (_, url) => url.includes('bench/src/profiler.ts') || url.startsWith('node:inspector')],
  ['GC', (fn) => fn === '(garbage collector)'],
  ['idle (waiting for I/O or the server)', (fn) => fn === '(idle)'],
  ['seal documents (AES-GCM per field, blind indexes)', (fn, url) => ['gcmEncrypt', 'sealValue', 'sealDocument'].includes(fn) || url.includes('projector/src/sealing.ts') || url.includes('projector/src/view-keys.ts')],
  ['open events (AES-GCM, key lookups)', (fn, url) => ['gcmDecrypt', 'openValue', 'openPersonalFields', 'openEvent', 'unwrap'].includes(fn) || url.includes('shredding/keyring.ts') || url.includes('sqlite-key-store.ts') || url.includes('events/codec.ts')],
  ['read events (event store)', (fn, url) => fn === 'readAll' || url.includes('sqlite/src/event-reads.ts') || url.includes('sqlite/src/event-rows.ts')],
  ['write documents (upsert, delete)', (fn, url) => ['upsert', 'delete', 'toJsonDocuments', 'replay'].includes(fn) && (url.includes('read-store') || url.includes('read-query') || url.includes('recording'))],
  ['read documents (find)', (fn, url) => (fn === 'find' && url.includes('read-store')) || (fn === 'load' && url.includes('view-projection.ts'))],
  ['MongoDB driver (BSON, wire)', (_, url) => url.includes('node_modules/mongodb/') || url.includes('node_modules/bson/')],
  ['evolve (view code)', (_, url) => url.includes('/projections/src/')],
  ['projector loop (view-projection, runner)', (_, url) => url.includes('projector/src/')],
];

export interface StepShare {
  step: string;
  ms: number;
  share: number;
}

/** Milliseconds and share of each step; the profiler's own time is reported but not shared out. */
export function rebuildSteps(profile: Profile): { totalMs: number; profilerMs: number; steps: StepShare[] } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const cache = new Map<number, string>();
  const stepOf = (id: number): string => {
    const known = cache.get(id);
    if (known) return known;
    let step: string | undefined;
    for (let at: number | undefined = id; at !== undefined && !step; at = parent.get(at)) {
      const { functionName, url } = byId.get(at)!.callFrame;
      step = RULES.find(([, matches]) => matches(functionName, url))?.[0];
    }
    const leaf = byId.get(id)!.callFrame;
    const found = step ?? `other: ${leaf.functionName || '(anonymous)'} ${leaf.url.replace(/^.*\/(node_modules|services|infra|projections|contracts|bench)\//, '$1/')}`;
    cache.set(id, found);
    return found;
  };
  const us = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    total += delta;
    const step = stepOf(id);
    us.set(step, (us.get(step) ?? 0) + delta);
  });
  const profiler = us.get('(profiler)') ?? 0;
  us.delete('(profiler)');
  const counted = Math.max(1, total - profiler);
  const steps = [...us].map(([step, t]) => ({ step, ms: t / 1000, share: t / counted })).sort((a, b) => b.ms - a.ms);
  return { totalMs: total / 1000, profilerMs: profiler / 1000, steps };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const files = process.argv.slice(2);
  if (files.length === 0) {
    console.error('usage: node --import tsx bench/src/tools/rebuild-profile.ts <file.cpuprofile> [more files…]');
    process.exit(2);
  }
  for (const file of files) {
    const { totalMs, profilerMs, steps } = rebuildSteps(JSON.parse(readFileSync(file, 'utf8')) as Profile);
    console.log(`${file}\n  sampled ${totalMs.toFixed(0)} ms (profiler start-up ${profilerMs.toFixed(0)} ms, left out)`);
    for (const s of steps.slice(0, 14)) console.log(`  ${(s.share * 100).toFixed(1).padStart(5)}%  ${s.ms.toFixed(0).padStart(6)} ms  ${s.step}`);
  }
}
