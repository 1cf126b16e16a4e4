/**
 * SQL on a test store's tables over a connection of its own, whichever store it is: the SQLite file,
 * or the Postgres schema its URL names. For tests that look at rows, or change them as an older
 * release or another program would. Placeholders are `?`, one per parameter, in order.
 */
import Database from 'better-sqlite3';
import pg from 'pg';
import { parseStoreLocation } from '../../src/store/location.js';

const INT8 = 20;

export async function storeSql<T = Record<string, unknown>>(
  store: string,
  text: string,
  ...params: unknown[]
): Promise<T[]> {
  const target = parseStoreLocation(store);
  if (target.kind === 'sqlite') {
    const db = new Database(target.path);
    try {
      const statement = db.prepare(text);
      if (statement.reader) return statement.all(...params) as T[];
      statement.run(...params);
      return [];
    } finally {
      db.close();
    }
  }
  let n = 0;
  const client = new pg.Client({
    connectionString: target.url,
    options: `-c search_path=${target.schema}`,
    // bigint (times, counts) as numbers, as SQLite gives them
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8 && format !== 'binary' ? Number : pg.types.getTypeParser(oid, format)) as never,
    },
  });
  await client.connect();
  try {
    return (
      await client.query(
        text.replace(/\?/g, () => `$${++n}`),
        params,
      )
    ).rows as T[];
  } finally {
    await client.end();
  }
}

/**
 * How sound the store is: 'ok', or what is wrong. A file runs `PRAGMA integrity_check`; a Postgres
 * schema must hold the store's tables, each readable (the server keeps its own pages sound).
 */
export async function storeIntegrity(store: string): Promise<string> {
  const target = parseStoreLocation(store);
  if (target.kind === 'sqlite') {
    const db = new Database(target.path, { readonly: true, fileMustExist: true });
    try {
      return db.pragma('integrity_check', { simple: true }) as string;
    } finally {
      db.close();
    }
  }
  const problems: string[] = [];
  for (const table of ['runs', 'run_shapes', 'tasks', 'triggers', 'delays']) {
    await storeSql(store, `SELECT count(*) FROM ${table}`).catch((error: Error) => {
      problems.push(`${table}: ${error.message}`);
    });
  }
  return problems.length === 0 ? 'ok' : problems.join('; ');
}
