/** The event store's migrations, in order; run by `migrateSchema` under the component name below. */
export const EVENT_STORE_COMPONENT = 'event-store';

export const EVENT_STORE_MIGRATIONS: readonly string[] = [
  `
  -- global_position is assigned by the appender holding the event log's advisory lock
  -- (head + 1, ...), never by a sequence: a sequence hands out numbers before commit, so
  -- positions could commit out of order and a rolled-back append would leave a hole.
  CREATE TABLE {schema}.events (
    global_position bigint      PRIMARY KEY CHECK (global_position > 0),
    -- "C": byte order and cheap comparisons for ids; the same order as SQLite's.
    event_id        text        COLLATE "C" NOT NULL UNIQUE,
    stream_id       text        COLLATE "C" NOT NULL,
    stream_version  bigint      NOT NULL CHECK (stream_version > 0),
    type            text        NOT NULL,
    schema_version  integer     NOT NULL,
    -- json, not jsonb: the payload is opaque (sealed) to the store, comes back byte for
    -- byte as written, and may hold anything JSON allows (jsonb refuses \\u0000).
    data            json        NOT NULL,
    -- jsonb: clear metadata (subject ids) is what one may want to index and query.
    metadata        jsonb       NOT NULL,
    recorded_at     timestamptz NOT NULL,
    UNIQUE (stream_id, stream_version)
  );

  CREATE FUNCTION {schema}.refuse_event_change() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    RAISE EXCEPTION 'events are append-only';
  END
  $$;
  CREATE TRIGGER events_no_update_or_delete BEFORE UPDATE OR DELETE ON {schema}.events
    FOR EACH ROW EXECUTE FUNCTION {schema}.refuse_event_change();
  CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON {schema}.events
    FOR EACH STATEMENT EXECUTE FUNCTION {schema}.refuse_event_change();

  -- One row per stream: its version, and the position of its last event (the answer of
  -- an append of no events), so an append reads neither from the events table.
  CREATE TABLE {schema}.streams (
    stream_id     text   COLLATE "C" PRIMARY KEY,
    version       bigint NOT NULL,
    last_position bigint NOT NULL
  );

  CREATE TABLE {schema}.idempotency (
    key         text        COLLATE "C" PRIMARY KEY,
    scope       text        NOT NULL,
    result      json        NOT NULL,
    reply       json        NOT NULL,
    recorded_at timestamptz NOT NULL
  );
  `,
];
