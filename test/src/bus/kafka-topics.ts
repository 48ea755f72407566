import { setTimeout as sleep } from 'node:timers/promises';
import kafkajs from 'kafkajs';
import { parseKafkaUrl } from '@crm/kafka';

/** Raw kafkajs access for the bus suites: what is really on a topic, bypassing our adapter. */
export function testKafka(url: string, clientId = 'crm-bus-tests'): kafkajs.Kafka {
  return new kafkajs.Kafka({ clientId, brokers: parseKafkaUrl(url), logLevel: kafkajs.logLevel.NOTHING });
}

export interface RawRecord {
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

/** Reads a topic from the beginning with a throw-away group until `count` records arrived. */
export async function readTopic(kafka: kafkajs.Kafka, topic: string, count: number, timeoutMs = 30_000): Promise<RawRecord[]> {
  const consumer = kafka.consumer({ groupId: `reader-${topic}-${Math.random().toString(36).slice(2)}` });
  const records: RawRecord[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(message.headers ?? {})) if (value !== undefined) headers[name] = value.toString();
        records.push({ partition, offset: message.offset, key: message.key, value: message.value, headers });
      },
    });
    await waitUntil(() => records.length >= count, timeoutMs, () => `${topic}: ${records.length} of ${count} records`);
  } finally {
    await consumer.disconnect();
  }
  return records;
}

/** Total records ever written to a topic (sum of the partitions' high watermarks). */
export async function topicRecordCount(kafka: kafkajs.Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
  } finally {
    await admin.disconnect();
  }
}

/** True when the group's committed offset equals the high watermark on every partition of the topic. */
export async function groupCaughtUp(kafka: kafkajs.Kafka, group: string, topic: string): Promise<boolean> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const high = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, p.high]));
    const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    return (committed?.partitions ?? []).every((p) => {
      const end = high.get(p.partition);
      return end === '0' || p.offset === end;
    });
  } finally {
    await admin.disconnect();
  }
}

export async function waitUntil(condition: () => boolean | Promise<boolean>, timeoutMs: number, describe: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${describe()}`);
    await sleep(50);
  }
}
