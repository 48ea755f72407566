/**
 * The events the store-level workload appends: `CustomerDetailsChanged` (a real contract:
 * every field but `customerId` is personal data of the customer), sized so that its JSON
 * is exactly `payloadBytes` long.
 */
import { CustomerDetailsChanged } from '@crm/contracts';
import { type EventMetadata, type EventToAppend, type Keyring, sealEvent } from '@crm/core';
import { v7 as uuidv7 } from 'uuid';

export type Variant = 'plaintext' | 'sealed';

const FILLER = 'Maximiliane Beispiel-Musterfrau von Testhausen ';

/** Customer details whose JSON is exactly `bytes` long (ASCII, so characters = bytes). */
export function customerDetails(customerId: string, seq: number, bytes: number): Record<string, unknown> {
  const make = (name: string) => ({
    customerId,
    name,
    email: `customer.${seq}@example.org`,
    phone: '+49 30 1234567',
    address: { street: `Benchmarkstrasse ${(seq % 200) + 1}`, postalCode: '10115', city: 'Berlin', country: 'DE' },
    dateOfBirth: '1985-05-05',
  });
  const bare = JSON.stringify(make('')).length;
  const pad = bytes - bare;
  if (pad < 1) throw new RangeError(`payload of ${bytes} bytes is too small for customer details`);
  return make(FILLER.repeat(Math.ceil(pad / FILLER.length)).slice(0, pad));
}

/** JSON bytes of the personal fields alone, i.e. what gets sealed. */
export function personalBytes(data: Record<string, unknown>): number {
  const { customerId: _id, ...personal } = data;
  return JSON.stringify(personal).length;
}

export interface EventFactory {
  /** Builds (and for `sealed`, seals) the next event for the customer `customerId`. */
  next(customerId: string): Promise<EventToAppend>;
}

export function eventFactory(variant: Variant, payloadBytes: number, keyring?: Keyring): EventFactory {
  let seq = 0;
  const type = CustomerDetailsChanged.type;
  const schemaVersion = CustomerDetailsChanged.version;
  if (variant === 'plaintext') {
    return {
      async next(customerId) {
        const metadata: EventMetadata = { subjectIds: [customerId] };
        return { eventId: uuidv7(), type, schemaVersion, data: customerDetails(customerId, ++seq, payloadBytes), metadata };
      },
    };
  }
  if (!keyring) throw new Error('the sealed variant needs a keyring');
  return {
    next(customerId) {
      const metadata: EventMetadata = { subjectIds: [customerId] };
      return sealEvent(keyring, { type, data: customerDetails(customerId, ++seq, payloadBytes) }, uuidv7(), metadata);
    },
  };
}
