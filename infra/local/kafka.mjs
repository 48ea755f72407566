// Apache Kafka 4.x (KRaft, one combined broker+controller node) from Maven Central jars.
//   install(): mvn dependency:copy-dependencies of infra/local/kafka/pom.xml into .cache/kafka/lib
//              (Maven repository in .cache/m2); a stamp holds the pom's hash, so a changed pom re-copies.
//   start({ dir }): StorageTool format --standalone, then `java kafka.Kafka server.properties`
//              on two free ports of 127.0.0.1 (PLAINTEXT and CONTROLLER), wait for a real request.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CACHE,
  HERE,
  HOST,
  aptInstall,
  ensureDir,
  freePorts,
  isMain,
  log,
  makeRunDir,
  optionalImport,
  readStamp,
  removeDir,
  run,
  serveInForeground,
  sha256,
  spawnServer,
  stopPid,
  tail,
  waitFor,
  which,
  writeStamp,
} from './lib.mjs';

export const name = 'kafka';
export const POM = join(HERE, 'kafka', 'pom.xml');
export const LIB = join(CACHE, 'kafka', 'lib');
export const M2 = join(CACHE, 'm2');
export const STOP_SIGNAL = 'SIGTERM'; // the broker's shutdown hook does a controlled shutdown
const pomText = () => readFileSync(POM, 'utf8');
export const KAFKA_VERSION = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(pomText())[1];
const classpath = () => `${LIB}/*`;

async function javaMajor() {
  if (!which('java')) return 0;
  const { stderr } = await run('java', ['-version']);
  const m = /version "(\d+)(?:\.(\d+))?/.exec(stderr);
  if (!m) return 0;
  return m[1] === '1' ? Number(m[2]) : Number(m[1]);
}

export async function install() {
  const t0 = Date.now();
  const pomSha = sha256(pomText());
  const jar = join(LIB, `kafka_2.13-${KAFKA_VERSION}.jar`);
  const stamp = readStamp(name);
  if (stamp?.pomSha === pomSha && existsSync(jar) && (await javaMajor()) >= 17) {
    return { name, version: KAFKA_VERSION, cached: true, ms: Date.now() - t0 };
  }
  if ((await javaMajor()) < 17 || !which('mvn')) {
    await aptInstall(['openjdk-17-jdk-headless', 'maven'], 'Kafka needs Java 17+ and Maven');
  }
  // Copy into a fresh folder, then swap it in: a half-done copy never looks installed.
  const tmp = `${LIB}.tmp`;
  removeDir(tmp);
  log(`kafka: fetching kafka_2.13 ${KAFKA_VERSION} and its runtime dependencies from Maven Central`);
  await run(
    'mvn',
    ['-B', '-q', '-f', POM, `-Dmaven.repo.local=${M2}`, 'dependency:copy-dependencies', '-DincludeScope=runtime', `-DoutputDirectory=${tmp}`],
    { cwd: HERE },
  );
  removeDir(LIB);
  renameSync(tmp, LIB);
  if (!existsSync(jar)) throw new Error(`kafka: ${jar} missing after mvn dependency:copy-dependencies`);
  writeStamp(name, { version: KAFKA_VERSION, pomSha, jars: readdirSync(LIB).length, at: new Date().toISOString() });
  return { name, version: KAFKA_VERSION, cached: false, ms: Date.now() - t0 };
}

/** A KRaft cluster id: 16 random bytes, base64url (what `kafka-storage random-uuid` prints). */
function clusterId() {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

const LOG4J2 = `# infra/local/kafka.mjs: everything to stdout (redirected to server.log)
status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = OUT
logger.state.name = state.change.logger
logger.state.level = WARN
logger.request.name = kafka.request.logger
logger.request.level = WARN
`;

/**
 * Starts one broker+controller whose files all live in `dir` (created if missing; removed by stop()
 * unless `keepData`); topic data in <dir>/data (log.dirs). Returns { name, url, port, logDir, pid, env, stop() }.
 */
export async function start({ dir, heap = process.env.CRM_KAFKA_HEAP ?? '512m' } = {}) {
  const ownDir = !dir;
  dir = ensureDir(dir ?? makeRunDir('crm-kafka-'));
  const [port, controllerPort] = await freePorts(2);
  // A fresh log folder per start: a left-over one (an earlier broker in the same run folder that
  // was killed) holds another cluster id, and formatting would refuse it.
  removeDir(join(dir, 'data'));
  const logDir = ensureDir(join(dir, 'data'));
  const props = join(dir, 'server.properties');
  const log4j = join(dir, 'log4j2.properties');
  const logFile = join(dir, 'server.log');
  writeFileSync(log4j, LOG4J2);
  writeFileSync(
    props,
    [
      '# infra/local/kafka.mjs: one KRaft node for tests, loopback only',
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.bootstrap.servers=${HOST}:${controllerPort}`,
      `listeners=PLAINTEXT://${HOST}:${port},CONTROLLER://${HOST}:${controllerPort}`,
      `advertised.listeners=PLAINTEXT://${HOST}:${port}`,
      'controller.listener.names=CONTROLLER',
      'inter.broker.listener.name=PLAINTEXT',
      'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      `log.dirs=${logDir}`,
      'num.partitions=3',
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=3',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'transaction.state.log.num.partitions=3',
      'share.coordinator.state.topic.replication.factor=1',
      'share.coordinator.state.topic.min.isr=1',
      'group.initial.rebalance.delay.ms=0',
      'auto.create.topics.enable=true',
      '',
    ].join('\n'),
  );
  const jvmLog = [`-Dlog4j2.configurationFile=${log4j}`, '-XX:-UsePerfData', '-Djava.awt.headless=true', '-Djava.net.preferIPv4Stack=true'];

  await run('java', [...jvmLog, '-Xmx256m', '-cp', classpath(), 'kafka.tools.StorageTool', 'format', '--standalone', '-t', clusterId(), '-c', props], {
    cwd: dir,
  });

  const server = spawnServer(
    'java',
    [
      `-Xms${heap}`,
      `-Xmx${heap}`,
      '-XX:+UseG1GC',
      '-XX:MaxGCPauseMillis=20',
      '-XX:+ExitOnOutOfMemoryError',
      ...jvmLog,
      '-cp',
      classpath(),
      'kafka.Kafka',
      props,
    ],
    { logFile, cwd: dir },
  );
  const stop = async ({ keepData = !ownDir } = {}) => {
    const how = await stopPid(server.pid, { signal: STOP_SIGNAL, timeoutMs: 30_000 });
    if (!keepData) removeDir(dir);
    return how;
  };
  try {
    await waitFor('kafka', () => /Kafka Server started/.test(tail(logFile, 400)), { timeoutMs: 120_000, alive: server.alive });
    await waitFor('kafka (listTopics)', () => ping(port), { timeoutMs: 60_000, intervalMs: 300, alive: server.alive });
  } catch (err) {
    await stop({ keepData: true }).catch(() => {});
    err.message += `\n--- ${logFile} ---\n${tail(logFile)}`;
    throw err;
  }
  const url = `kafka://${HOST}:${port}`;
  return {
    name,
    url,
    port,
    controllerPort,
    logDir,
    dataDir: logDir,
    dir,
    pid: server.pid,
    logFile,
    stopSignal: STOP_SIGNAL,
    cmdMatch: 'kafka.Kafka',
    env: { CRM_KAFKA_URL: url, CRM_KAFKA_LOG_DIR: logDir },
    stop,
  };
}

/** A real Kafka request (Metadata, through kafkajs' admin listTopics) when kafkajs is installed. */
async function ping(port) {
  const kafkajs = await optionalImport('kafkajs');
  if (!kafkajs) return true; // the "Kafka Server started" log line has to do
  const { Kafka, logLevel } = kafkajs.default ?? kafkajs;
  const admin = new Kafka({
    clientId: 'infra-local-ping',
    brokers: [`${HOST}:${port}`],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 2000,
    retry: { retries: 0 },
  }).admin();
  try {
    await admin.connect();
    await admin.listTopics();
    return true;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

// `node infra/local/kafka.mjs` starts one broker in the foreground until Ctrl-C.
if (isMain(import.meta.url)) await serveInForeground(name, { install, start, where: (s) => `log.dirs ${s.logDir}` });
