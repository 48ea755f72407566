/**
 * How fast FerretDB 1.24 fetches documents by `_id`, in the forms a read store could send:
 * the projector's lookup (`load` in services/projector/src/view-projection.ts) asks for up to
 * 1,000 ids at a time.
 *
 *   node --import tsx bench/src/tools/ferretdb-lookup-probe.ts [--url mongodb://…] [--docs 100000] [--reps 3] [--cap-ms 20000] [--writes [--only-writes]]
 *
 * Without --url it starts a FerretDB of its own (infra/local/ferretdb.mjs: SQLite backend, temp
 * folder, free port) and stops it at the end. With --url it uses a fresh database on that
 * server and drops it afterwards.
 *
 * Forms timed, for 20, 200 and 1,000 random existing ids (a larger N is skipped when its linear
 * estimate from the smaller one exceeds --cap-ms, 20 s by default; the machine is shared):
 *   in          one find({ _id: { $in: ids } })
 *   or          one find({ $or: [{ _id: id }, …] })
 *   one-by-one  findOne({ _id: id }) per id, at most C in flight (C = 1, 16)
 *   one-eq      findOne({ _id: { $eq: id } }) per id, 16 in flight
 * and, first, `explain` of each shape: FerretDB reports whether it pushed the filter down to SQL.
 * Every form's result set is checked against the ids asked for. --writes also times the read
 * store's upsert shape (bulkWrite of 16 replaceOne upserts by _id); --only-writes stops after it.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MongoClient, type Collection } from 'mongodb';

type Doc = { _id: string } & Record<string, unknown>;

interface FerretDbModule {
  install(): Promise<unknown>;
  start(): Promise<{ url: string; pid: number; stop(): Promise<unknown> }>;
}

const args = process.argv.slice(2);
const option = (name: string) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] : undefined;
};
const DOCS = Number(option('docs') ?? 100_000);
const REPS = Number(option('reps') ?? 3);
/** CPU budget: a cell stops repeating once its runs took this long, and a form skips a larger N whose linear estimate exceeds it. */
const CAP_MS = Number(option('cap-ms') ?? 20_000);
const SIZES = [20, 200, 1000];

/** A document shaped like a view's: uuid-like _id, sealed (base64) personal fields, a few plain ones; about 1 KB as JSON. */
function viewDocument(i: number): Doc {
  const sealed = (bytes: number) => `v1.${randomBytes(bytes).toString('base64url')}`;
  return {
    _id: `01936a${i.toString(16).padStart(10, '0')}-${randomBytes(8).toString('hex')}`,
    kind: 'customer',
    name: sealed(48),
    email: sealed(48),
    phone: sealed(24),
    address: { street: sealed(64), city: 'Lyon', postcode: '69003', country: 'FR' },
    notes: sealed(320),
    owner: { id: `user-${i % 50}`, team: `team-${i % 7}` },
    stage: ['lead', 'qualified', 'won', 'lost'][i % 4],
    amount: (i * 37) % 100_000,
    tags: ['b2b', `segment-${i % 11}`],
    createdAt: new Date(1_700_000_000_000 + i * 1000).toISOString(),
    updatedAt: new Date(1_700_000_500_000 + i * 1000).toISOString(),
    version: 1 + (i % 9),
    position: i,
    subject: `subj-${randomBytes(6).toString('hex')}`,
  };
}

async function withConcurrency<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** perId: the cost grows with the number of ids (for the budget's estimate); otherwise one scan whatever N. */
type Form = { name: string; perId: boolean; fetch: (c: Collection<Doc>, ids: string[]) => Promise<Doc[]> };

const oneByOne = (concurrency: number, eq: boolean): Form => ({
  name: `${eq ? 'one-eq' : 'one-by-one'} c=${concurrency}`,
  perId: true,
  async fetch(c, ids) {
    const out: Doc[] = [];
    await withConcurrency(ids, concurrency, async (id) => {
      const found = await c.findOne(eq ? { _id: { $eq: id } } : { _id: id });
      if (found) out.push(found);
    });
    return out;
  },
});

const FORMS: Form[] = [
  { name: 'in', perId: false, fetch: (c, ids) => c.find({ _id: { $in: ids } }).toArray() },
  { name: 'or', perId: true, fetch: (c, ids) => c.find({ $or: ids.map((id) => ({ _id: id })) }).toArray() },
  oneByOne(1, false),
  oneByOne(16, false),
  oneByOne(16, true),
];

function sample(all: readonly string[], n: number): string[] {
  const picked = new Set<string>();
  while (picked.size < n) picked.add(all[Math.floor(Math.random() * all.length)] as string);
  return [...picked];
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function main() {
  let own: Awaited<ReturnType<FerretDbModule['start']>> | undefined;
  let url = option('url');
  if (!url) {
    const moduleUrl = pathToFileURL(fileURLToPath(new URL('../../../infra/local/ferretdb.mjs', import.meta.url))).href;
    const ferretdb = (await import(moduleUrl)) as FerretDbModule;
    await ferretdb.install();
    own = await ferretdb.start();
    url = own.url;
    console.log(`own FerretDB (SQLite backend) pid ${own.pid} at ${url}`);
  }
  const client = new MongoClient(url, { ignoreUndefined: true });
  const dbName = `lookup_probe_${randomBytes(4).toString('hex')}`;
  const db = client.db(dbName);
  try {
    const info = await db.admin().command({ buildInfo: 1 });
    console.log(`server ${String(info.version)}, ferretdbVersion ${String(info.ferretdbVersion ?? '-')}`);
    const coll = db.collection<Doc>('views');

    const t0 = performance.now();
    const ids: string[] = [];
    for (let i = 0; i < DOCS; i += 1000) {
      const batch = Array.from({ length: Math.min(1000, DOCS - i) }, (_, j) => viewDocument(i + j));
      for (const d of batch) ids.push(d._id);
      await coll.insertMany(batch, { ordered: false });
    }
    const bytes = JSON.stringify(viewDocument(0)).length;
    console.log(`inserted ${DOCS} documents (~${bytes} B as JSON) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    // What FerretDB says it pushes down to SQL, per filter shape.
    const some = sample(ids, 3);
    const shapes: Record<string, Record<string, unknown>> = {
      '{_id: id}': { _id: some[0] },
      '{_id: {$eq: id}}': { _id: { $eq: some[0] } },
      '{_id: {$in: ids}}': { _id: { $in: some } },
      '{$or: [{_id: id}, …]}': { $or: some.map((id) => ({ _id: id })) },
    };
    for (const [label, filter] of Object.entries(shapes)) {
      const explained = await db.command({ explain: { find: 'views', filter, limit: 1 }, verbosity: 'queryPlanner' });
      const flags = ['filterPushdown', 'sortPushdown', 'limitPushdown'].map((k) => `${k}=${String(explained[k])}`).join(' ');
      const plan = JSON.stringify((explained.queryPlanner as Record<string, unknown> | undefined)?.Plan ?? explained.queryPlanner);
      console.log(`explain ${label.padEnd(22)} ${flags}  plan ${plan}`);
    }

    if (args.includes('--writes')) {
      // The read store's upsert: bulkWrites of 16 replaceOne({ _id }, …, upsert), on existing ids and on new ones.
      for (const existing of [true, false]) {
        const batch = existing ? sample(ids, 16).map((id, i) => ({ ...viewDocument(i), _id: id })) : Array.from({ length: 16 }, (_, i) => viewDocument(DOCS + i));
        const t = performance.now();
        await coll.bulkWrite(batch.map((d) => ({ replaceOne: { filter: { _id: d._id }, replacement: d, upsert: true } })), { ordered: true });
        const ms = performance.now() - t;
        console.log(`bulkWrite of 16 upserts (${existing ? 'existing' : 'new'} ids): ${ms.toFixed(0)} ms, ${(ms / 16).toFixed(0)} ms per upsert`);
      }
      const some = sample(ids, 16);
      const t = performance.now();
      for (const id of some) await coll.findOne({ _id: id });
      console.log(`16 findOne({ _id }) one after the other: ${(performance.now() - t).toFixed(0)} ms`);
      if (args.includes('--only-writes')) return;
    }

    // Warm up (page cache, connection pool) before timing.
    await FORMS[0]!.fetch(coll, sample(ids, 20));

    console.log(`\nms per lookup of N random ids (median of up to ${REPS} runs; min–max, runs)`);
    console.log(`${'form'.padEnd(18)}${SIZES.map((n) => `N=${n}`.padStart(26)).join('')}`);
    for (const form of FORMS) {
      const cells: string[] = [];
      // A per-id form's first estimate: one lookup of one id, times N.
      let estimate = 0;
      if (form.perId) {
        const t = performance.now();
        await form.fetch(coll, sample(ids, 1));
        estimate = (performance.now() - t) * (SIZES[0] as number);
      }
      for (const n of SIZES) {
        if (estimate > CAP_MS) {
          cells.push(`skipped (est. ${(estimate / 1000).toFixed(0)} s)`.padStart(26));
          const following = SIZES[SIZES.indexOf(n) + 1];
          if (form.perId && following) estimate = (estimate * following) / n;
          continue;
        }
        const times: number[] = [];
        while (times.length < REPS && times.reduce((a, b) => a + b, 0) < CAP_MS / 2) {
          const wanted = sample(ids, n);
          const t = performance.now();
          const got = await form.fetch(coll, wanted);
          times.push(performance.now() - t);
          const gotIds = new Set(got.map((d) => d._id));
          if (got.length !== n || wanted.some((id) => !gotIds.has(id))) throw new Error(`${form.name}: ${got.length} documents for ${n} ids`);
        }
        cells.push(`${median(times).toFixed(0)} (${Math.min(...times).toFixed(0)}–${Math.max(...times).toFixed(0)}, ${times.length}×)`.padStart(26));
        const next = SIZES[SIZES.indexOf(n) + 1];
        estimate = next ? (form.perId ? (median(times) * next) / n : median(times)) : 0;
      }
      console.log(`${form.name.padEnd(18)}${cells.join('')}`);
    }
  } finally {
    await db.dropDatabase().catch(() => {});
    await client.close();
    if (own) await own.stop();
  }
}

await main();
