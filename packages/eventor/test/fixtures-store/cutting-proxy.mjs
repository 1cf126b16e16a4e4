// The thread of a cutting proxy (test/helpers/cutting-proxy.ts): a TCP proxy in front of a
// PostgreSQL server. On { type: 'arm', marker }, the next connection whose client sends `marker` is
// cut once the server has answered in full (ReadyForQuery), without passing the answer on; then it
// posts { type: 'cut' }. It runs in a thread of its own: a store's synchronous calls block the main
// thread while they wait for the server, and the proxy must go on forwarding meanwhile.
import { connect, createServer } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';

/** ReadyForQuery: the server's last message for a statement, after its transaction ended. */
const READY_FOR_QUERY = 0x5a;
const { host, port } = workerData;
const sockets = new Set();
let armed;

const server = createServer((client) => {
  const upstream = connect(port, host);
  sockets.add(client).add(upstream);
  let cutting = false;
  let pending = Buffer.alloc(0);
  const cut = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('data', (chunk) => {
    if (armed !== undefined && chunk.includes(armed)) {
      cutting = true;
      armed = undefined;
    }
    upstream.write(chunk);
  });
  upstream.on('data', (chunk) => {
    if (!cutting) {
      client.write(chunk);
      return;
    }
    // nothing more reaches the client; the connection goes once the answer is complete
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 5) {
      const length = pending.readInt32BE(1);
      if (pending.length < 1 + length) break;
      const type = pending[0];
      pending = pending.subarray(1 + length);
      if (type === READY_FOR_QUERY) {
        cut();
        parentPort.postMessage({ type: 'cut' });
        return;
      }
    }
  });
  for (const socket of [client, upstream]) {
    socket.on('error', cut);
    socket.on('close', () => {
      sockets.delete(socket);
      cut();
    });
  }
});

parentPort.on('message', (message) => {
  if (message.type === 'arm') armed = Buffer.from(message.marker);
  else if (message.type === 'close') {
    for (const socket of sockets) socket.destroy();
    server.close(() => process.exit(0));
  }
});

server.listen(0, '127.0.0.1', () =>
  parentPort.postMessage({ type: 'listening', port: server.address().port }),
);
