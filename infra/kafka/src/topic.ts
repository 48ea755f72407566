import type kafkajs from 'kafkajs';

export interface TopicLayout {
  topic: string;
  /** Partitions when the topic is created; an existing topic keeps its own. */
  partitions: number;
  /** 1 on a single local broker; 3 in production (see infra/deploy). */
  replicationFactor: number;
}

/**
 * Creates the topic unless it exists. Publisher and consumers both call this with the
 * same layout, so whichever starts first creates it as intended, rather than leaving it
 * to the broker's auto-creation defaults.
 */
export async function ensureTopic(kafka: kafkajs.Kafka, layout: TopicLayout): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = await admin.listTopics();
    if (existing.includes(layout.topic)) return;
    await admin.createTopics({
      topics: [{ topic: layout.topic, numPartitions: layout.partitions, replicationFactor: layout.replicationFactor }],
      waitForLeaders: true,
    });
  } catch (error) {
    // Another process created it between our look and our create.
    if (!isTopicAlreadyExists(error)) throw error;
  } finally {
    await admin.disconnect();
  }
}

function isTopicAlreadyExists(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { type, errors } = error as { type?: unknown; errors?: unknown };
  if (type === 'TOPIC_ALREADY_EXISTS') return true;
  return Array.isArray(errors) && errors.length > 0 && errors.every((e: { type?: unknown }) => e?.type === 'TOPIC_ALREADY_EXISTS');
}
