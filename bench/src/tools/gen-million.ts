/**
 * Writes rebuild-million's data directory once and keeps it, for profiling a rebuild by hand:
 *   node --import tsx bench/src/tools/gen-million.ts [events] > /tmp/million.json
 * prints (last line) the directory and the environment (CRM_DATA_DIR and keys) that opens it; then
 * run `bench/src/workloads/rebuild-million-child.ts` with that environment and any Node flags
 * (e.g. `--heapsnapshot-signal=SIGUSR2`). Remove the directory when done.
 */
import { generate, rebuildMillionConfig } from '../workloads/rebuild-million.ts';

const events = Number(process.argv[2] ?? 1_000_000);
if (!Number.isInteger(events) || events <= 0) throw new Error('events must be a positive integer');
const config = { ...rebuildMillionConfig({ quick: false, runs: 1, log: () => {} }), events };
const generated = await generate(config, (line) => process.stderr.write(`${line}\n`));
process.stdout.write(`${JSON.stringify({ dir: generated.dir, env: generated.env, events: generated.events })}\n`);
