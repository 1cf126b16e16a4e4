// A process for the tests of several processes on one store file. It runs against the BUILT package
// and talks to the parent test over the IPC channel of child_process.fork.
//   { type: 'open', store, at }   waits until the clock reads `at` (ms), opens an Eventor on `store`,
//                                 closes it, and reports { type: 'opened', ok, code?, message? }
//   { type: 'hold', store, ms }   takes the store's write lock (BEGIN IMMEDIATE), reports
//                                 { type: 'holding' }, commits after `ms` and reports { type: 'released' }
import Database from 'better-sqlite3';
import { Eventor } from '../../dist/index.js';

const send = (message) => process.send?.({ pid: process.pid, ...message });

process.on('message', (message) => {
  if (message?.type === 'open') {
    setTimeout(() => open(message.store), Math.max(0, message.at - Date.now()));
  } else if (message?.type === 'hold') {
    const db = new Database(message.store);
    db.exec('BEGIN IMMEDIATE');
    send({ type: 'holding' });
    setTimeout(() => {
      db.exec('COMMIT');
      db.close();
      send({ type: 'released' });
    }, message.ms);
  } else if (message?.type === 'exit') {
    process.disconnect();
  }
});

function open(store) {
  try {
    new Eventor({ name: 'opener', store, logLevel: 'silent' }).close();
    send({ type: 'opened', ok: true });
  } catch (error) {
    send({ type: 'opened', ok: false, code: error.code, message: error.message });
  }
}

send({ type: 'ready' });
