/**
 * What a `store` option names: a SQLite file (a path, a `file:` URL, or ':memory:'), or a
 * PostgreSQL database and the Postgres schema its tables live in (a `postgres:`/`postgresql:` URL,
 * `?schema=name` naming the schema, or `{ url, schema }`).
 */
import { fileURLToPath } from 'node:url';
import { formatValue } from '../describe.js';
import { FlowConfigError } from '../errors.js';

/** The `store` option: a file path (or `file:` URL, or ':memory:'), a `postgres:` URL, or `{ url, schema }`. */
export type StoreOption = string | PostgresStoreOption;

/** A PostgreSQL store: the database's URL, and the Postgres schema of its tables (default 'flow'). */
export interface PostgresStoreOption {
  url: string;
  schema?: string;
}

export type StoreLocation =
  | { kind: 'sqlite'; path: string }
  | {
      kind: 'postgres';
      /** The URL for the driver: without `schema` (which is not a connection parameter). */
      url: string;
      schema: string;
      /** The URL as messages and logs show it: the password hidden, the schema named. */
      display: string;
    };

export const DEFAULT_POSTGRES_SCHEMA = 'flow';

const POSTGRES_URL = /^postgres(?:ql)?:/i;
/** A plain Postgres identifier, so it goes into `search_path` and SQL without quoting rules. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** Reads a `store` option; a bad one throws FlowConfigError naming `option` and saying what fits. */
export function parseStoreLocation(value: unknown, option = 'store'): StoreLocation {
  if (typeof value === 'string' && value.length > 0 && !POSTGRES_URL.test(value)) {
    return { kind: 'sqlite', path: /^file:/i.test(value) ? fileURLToPath(value) : value };
  }
  const form =
    typeof value === 'string'
      ? { url: value, schema: undefined }
      : (value as { url?: unknown; schema?: unknown } | null);
  if (
    typeof form !== 'object' ||
    form === null ||
    Array.isArray(form) ||
    typeof form.url !== 'string' ||
    !POSTGRES_URL.test(form.url) ||
    Object.keys(form).some((key) => key !== 'url' && key !== 'schema')
  ) {
    throw new FlowConfigError(
      `Option "${option}" must be a file path, ':memory:', a postgres:// URL, or { url: 'postgres://…', schema?: 'flow' }; ` +
        `got ${formatValue(value)}.`,
    );
  }
  let url: URL;
  try {
    url = new URL(form.url);
  } catch (cause) {
    throw new FlowConfigError(
      `Option "${option}": ${formatValue(redact(form.url))} is not a valid URL; write it as postgres://user:password@host:5432/database.`,
      { cause },
    );
  }
  const inUrl = url.searchParams.get('schema');
  url.searchParams.delete('schema');
  if (form.schema !== undefined && typeof form.schema !== 'string') {
    throw new FlowConfigError(
      `Option "${option}": schema must be a string such as 'flow'; got ${formatValue(form.schema)}.`,
    );
  }
  if (form.schema !== undefined && inUrl !== null && form.schema !== inUrl) {
    throw new FlowConfigError(
      `Option "${option}" names two schemas: "${inUrl}" in the URL and "${form.schema}" as schema. Give one of them.`,
    );
  }
  const schema = form.schema ?? inUrl ?? DEFAULT_POSTGRES_SCHEMA;
  if (!SCHEMA_NAME.test(schema)) {
    throw new FlowConfigError(
      `Option "${option}": the Postgres schema must be a lower-case name of letters, digits and _ (up to 63), ` +
        `not starting with a digit, such as 'flow' or 'etl_flows'; got ${formatValue(schema)}.`,
    );
  }
  const driverUrl = url.toString();
  const shown = new URL(driverUrl);
  shown.searchParams.set('schema', schema);
  return { kind: 'postgres', url: driverUrl, schema, display: redact(shown.toString()) };
}

/** A URL with its password hidden, for messages and logs. */
export function redact(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/?#@]*:)[^@/?#]*@/i, '$1***@');
}
