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
  `
  -- The subject index: which events name which data subject (metadata.subjectIds), so that
  -- an access request or an erasure reads one subject's events instead of the whole log.
  -- Ids only, never personal data. Filled by a statement-level trigger on events, so that
  -- every insert writes its index rows in the same transaction — also one from a process
  -- that started before this migration ran and knows nothing of the index.
  CREATE TABLE {schema}.event_subjects (
    subject_id      text   COLLATE "C" NOT NULL,
    global_position bigint NOT NULL,
    PRIMARY KEY (subject_id, global_position)
  );

  CREATE FUNCTION {schema}.index_event_subjects() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    INSERT INTO {schema}.event_subjects (subject_id, global_position)
    SELECT DISTINCT s.subject_id, n.global_position
    FROM appended_events AS n
    CROSS JOIN LATERAL jsonb_array_elements_text(
      CASE WHEN jsonb_typeof(n.metadata -> 'subjectIds') = 'array' THEN n.metadata -> 'subjectIds' ELSE '[]'::jsonb END
    ) AS s(subject_id);
    RETURN NULL;
  END
  $$;
  CREATE TRIGGER events_index_subjects AFTER INSERT ON {schema}.events
    REFERENCING NEW TABLE AS appended_events
    FOR EACH STATEMENT EXECUTE FUNCTION {schema}.index_event_subjects();

  CREATE TRIGGER event_subjects_no_update_or_delete BEFORE UPDATE OR DELETE ON {schema}.event_subjects
    FOR EACH ROW EXECUTE FUNCTION {schema}.refuse_event_change();
  CREATE TRIGGER event_subjects_no_truncate BEFORE TRUNCATE ON {schema}.event_subjects
    FOR EACH STATEMENT EXECUTE FUNCTION {schema}.refuse_event_change();

  -- Backfill: the events written before this migration.
  INSERT INTO {schema}.event_subjects (subject_id, global_position)
  SELECT DISTINCT s.subject_id, e.global_position
  FROM {schema}.events AS e
  CROSS JOIN LATERAL jsonb_array_elements_text(
    CASE WHEN jsonb_typeof(e.metadata -> 'subjectIds') = 'array' THEN e.metadata -> 'subjectIds' ELSE '[]'::jsonb END
  ) AS s(subject_id);
  `,
];
