/**
 * Listening for a store's commits (the writes notify CHANGES_CHANNEL with their schema, see
 * queries.ts): a connection of its own, on this thread, that does nothing but LISTEN.
 */
import { type ConnectionSettings, clientConfig } from './connection.js';
import { missingDriverError } from './errors.js';
import { CHANGES_CHANNEL } from './queries.js';

export interface Listening {
  close(): Promise<void>;
}

/**
 * Calls `changed` on each notification of the store in `settings.schema`, and `lost` once if the
 * connection fails later. Rejects (pg's error) when it cannot connect or LISTEN.
 */
export async function listenForChanges(
  settings: ConnectionSettings,
  location: string,
  changed: () => void,
  lost: (error: unknown) => void,
): Promise<Listening> {
  let pg: typeof import('pg').default;
  try {
    pg = (await import('pg')).default;
  } catch (error) {
    throw missingDriverError(location, error);
  }
  const client = new pg.Client(clientConfig(pg, settings));
  let ended = false;
  const end = (error: unknown): void => {
    if (ended) return;
    ended = true;
    client.end().catch(() => {});
    lost(error);
  };
  client.on('notification', (message) => {
    if (message.channel === CHANGES_CHANNEL && message.payload === settings.schema) changed();
  });
  client.on('error', end);
  client.on('end', () => end(new Error('the connection to the server ended')));
  try {
    await client.connect();
    await client.query(`LISTEN ${CHANGES_CHANNEL}`);
  } catch (error) {
    ended = true;
    await client.end().catch(() => {});
    throw error;
  }
  return {
    async close() {
      if (ended) return;
      ended = true;
      await client.end().catch(() => {});
    },
  };
}
