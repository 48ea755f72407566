/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`): the functions with the most self
 * time, and self time grouped by package/file, so that "where does the time go" has an answer.
 *   node --import tsx bench/src/tools/cpuprofile-top.ts <file.cpuprofile> [top=25]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export function summarizeProfile(profile: Profile, top = 25): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  const label = (frame: ProfileNode['callFrame']) =>
    `${frame.functionName || '(anonymous)'}  ${shortUrl(frame.url)}${frame.url ? `:${frame.lineNumber + 1}` : ''}`;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)?.callFrame;
    if (!frame) continue;
    const file = shortUrl(frame.url);
    const fn = label(frame);
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
    byFile.set(file || frame.functionName, (byFile.get(file || frame.functionName) ?? 0) + us);
  }
  // Inclusive ("total") time: a sample counts once for every distinct function on its stack.
  const inclusive = new Map<string, number>();
  const walk = (id: number, onStack: Map<string, number>): void => {
    const node = byId.get(id);
    if (!node) return;
    const fn = label(node.callFrame);
    onStack.set(fn, (onStack.get(fn) ?? 0) + 1);
    const us = selfUs.get(id) ?? 0;
    if (us) for (const f of onStack.keys()) inclusive.set(f, (inclusive.get(f) ?? 0) + us);
    for (const child of node.children ?? []) walk(child, onStack);
    const left = onStack.get(fn)! - 1;
    if (left === 0) onStack.delete(fn);
    else onStack.set(fn, left);
  };
  const root = profile.nodes[0];
  if (root) walk(root.id, new Map());
  inclusive.delete(root ? label(root.callFrame) : '');
  const lines = (map: Map<string, number>) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => `${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(7)} ms  ${name}`);
  return [
    `total sampled: ${(total / 1000).toFixed(0)} ms`,
    '',
    'self time by function:',
    ...lines(byFunction),
    '',
    'self time by file / package:',
    ...lines(byFile),
    '',
    'total (inclusive) time by function:',
    ...lines(inclusive),
  ].join('\n');
}

function shortUrl(url: string): string {
  if (!url) return '';
  const path = url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf('node_modules/');
  if (nm >= 0) return path.slice(nm + 'node_modules/'.length);
  const work = path.indexOf('/main/');
  return work >= 0 ? path.slice(work + '/main/'.length) : path;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [file, top] = process.argv.slice(2);
  if (!file) {
    console.error('usage: cpuprofile-top.ts <file.cpuprofile> [top]');
    process.exit(2);
  }
  console.log(summarizeProfile(JSON.parse(readFileSync(file, 'utf8')) as Profile, Number(top ?? 25)));
}
