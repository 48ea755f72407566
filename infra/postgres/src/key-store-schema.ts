/** The key store's migrations, in order; run by `migrateSchema` under the component name below. */
export const KEY_STORE_COMPONENT = 'key-store';

export const KEY_STORE_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE {schema}.subject_keys (
    subject_id  text    COLLATE "C" NOT NULL,
    key_version integer NOT NULL CHECK (key_version >= 1),
    kek_id      text    COLLATE "C" NOT NULL,
    wrapped     bytea   NOT NULL,
    -- Text, as given: the port's timestamps come back exactly as they were stored.
    created_at  text    NOT NULL,
    PRIMARY KEY (subject_id, key_version)
  );
  -- stats() and listWrappedByOtherThan() look keys up by master key; the index holds no key material.
  CREATE INDEX subject_keys_by_kek ON {schema}.subject_keys (kek_id);

  CREATE TABLE {schema}.tombstones (
    subject_id   text      COLLATE "C" PRIMARY KEY,
    destroyed_at text      NOT NULL,
    request_id   text      NOT NULL,
    key_versions integer[] NOT NULL
  );
  `,
];
