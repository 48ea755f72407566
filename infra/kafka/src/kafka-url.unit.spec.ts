import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseKafkaUrl } from './kafka-url.ts';

describe('parseKafkaUrl', () => {
  test('one broker, several brokers, an IPv6 literal', () => {
    assert.deepEqual(parseKafkaUrl('kafka://127.0.0.1:9092'), ['127.0.0.1:9092']);
    assert.deepEqual(parseKafkaUrl('kafka://a.example:9092,b.example:9093/'), ['a.example:9092', 'b.example:9093']);
    assert.deepEqual(parseKafkaUrl('kafka://[::1]:9092'), ['[::1]:9092']);
  });

  test('refuses other schemes, missing ports and credentials', () => {
    for (const bad of ['http://h:1', 'kafka://h', 'kafka://h:0', 'kafka://h:1,', 'kafka://u:p@h:1', 'kafka://', 'h:9092']) {
      assert.throws(() => parseKafkaUrl(bad), TypeError, bad);
    }
  });
});
