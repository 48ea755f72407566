/**
 * `kafka://host:port[,host:port…]` (the form of `CRM_BUS`) as the broker list kafkajs wants.
 * Only the bootstrap list: credentials and TLS settings come from their own variables, never from a URL
 * that ends up in logs.
 */
export function parseKafkaUrl(url: string): string[] {
  const match = /^kafka:\/\/([^/?#]+)\/?$/.exec(url.trim());
  if (!match) throw new TypeError('A Kafka URL has the form kafka://host:port[,host:port]');
  const brokers = match[1]!.split(',').map((broker) => broker.trim());
  for (const broker of brokers) {
    if (broker.includes('@')) throw new TypeError('A Kafka URL must not carry credentials');
    const port = /^(?:\[[0-9a-fA-F:.]+\]|[^:\s[\]]+):(\d{1,5})$/.exec(broker)?.[1];
    if (port === undefined || Number(port) < 1 || Number(port) > 65535) {
      throw new TypeError('Each broker of a Kafka URL needs a host and a port (host:port)');
    }
  }
  return brokers;
}
