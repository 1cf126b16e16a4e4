// A process for the tests of several processes on one store. It runs against the BUILT package
// and talks to the parent test over the IPC channel of child_process.fork.
//   { type: 'open', store, at }   waits until the clock reads `at` (ms), opens an Eventor on `store`,
//                                 closes it, and reports { type: 'opened', ok, code?, message? }
//   { type: 'hold', store, ms }   keeps every other writer out of the store: a file's write lock
//                                 (BEGIN IMMEDIATE), or on PostgreSQL the runs table locked against
//                                 writes; reports { type: 'holding' }, commits after `ms` and
//                                 reports { type: 'released' }
import { createRequire } from 'node:module';
import Database from 'better-sqlite3';
import { Eventor } from '../../dist/index.js';

const pg = createRequire(new URL('../../package.json', import.meta.url))('pg');

const send = (message) => process.send?.({ pid: process.pid, ...message });

process.on('message', (message) => {
  if (message?.type === 'open') {
    setTimeout(() => open(message.store), Math.max(0, message.at - Date.now()));
  } else if (message?.type === 'hold') {
    void hold(message.store, message.ms);
  } else if (message?.type === 'exit') {
    process.disconnect();
  }
});

async function hold(store, ms) {
  if (!/^postgres(ql)?:/i.test(store)) {
    const db = new Database(store);
    db.exec('BEGIN IMMEDIATE');
    send({ type: 'holding' });
    setTimeout(() => {
      db.exec('COMMIT');
      db.close();
      send({ type: 'released' });
    }, ms);
    return;
  }
  const url = new URL(store);
  const schema = url.searchParams.get('schema') ?? 'flow';
  url.searchParams.delete('schema');
  const client = new pg.Client(url.toString());
  await client.connect();
  await client.query('BEGIN');
  await client.query(`LOCK TABLE "${schema}".runs IN EXCLUSIVE MODE`);
  send({ type: 'holding' });
  setTimeout(async () => {
    await client.query('COMMIT');
    await client.end();
    send({ type: 'released' });
  }, ms);
}

function open(store) {
  try {
    new Eventor({ name: 'opener', store, logLevel: 'silent' }).close();
    send({ type: 'opened', ok: true });
  } catch (error) {
    send({ type: 'opened', ok: false, code: error.code, message: error.message });
  }
}

send({ type: 'ready' });
