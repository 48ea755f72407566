/**
 * Schema and channel names end up inside SQL text (identifiers cannot be bound as
 * parameters), so they are checked against a strict pattern instead of being escaped.
 */

// Lower case so that quoted and unquoted spellings name the same schema; 48 characters
// leave room for the suffixes below inside PostgreSQL's 63-byte identifier limit.
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,47}$/;

export function checkSchemaName(schema: string): string {
  if (!SCHEMA_NAME.test(schema)) {
    throw new RangeError('schema must be 1-48 characters: lower-case letters, digits and _, not starting with a digit');
  }
  return schema;
}

/** A checked name, double-quoted: safe to splice into SQL text. */
export function ident(name: string): string {
  return `"${name}"`;
}

/** `"schema"."table"` for a checked schema and a constant table name. */
export function qualified(schema: string, table: string): string {
  return `${ident(schema)}.${ident(table)}`;
}
