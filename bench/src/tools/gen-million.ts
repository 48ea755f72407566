import { writeFileSync } from 'node:fs';
import { generate, rebuildMillionConfig } from '../workloads/rebuild-million.ts';
const events = Number(process.argv[2] ?? 1_000_000);
const config = { ...rebuildMillionConfig({ quick: false, runs: 1, log: console.log }), events };
const g = await generate(config, console.log);
writeFileSync('/tmp/mem/gen.json', JSON.stringify(g));
console.log(g.dir);
