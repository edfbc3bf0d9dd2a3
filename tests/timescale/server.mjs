// Serve an in-memory PGlite (WASM PostgreSQL 17 + TimescaleDB) over the
// PostgreSQL wire protocol on 127.0.0.1 for the test suite.
//
// Usage: node server.mjs [PORT]   (or PORT=... node server.mjs; 0 = any free port)
// Prints exactly one line "READY <port>" to stdout once it accepts connections;
// everything else goes to stderr. Exits 0 on SIGTERM/SIGINT.
//
// PGlite is a single backend: pglite-socket serves one client at a time and
// queues further connections until the active one disconnects. As all clients
// share that one session, FramedSocket resets it (ROLLBACK; DISCARD ALL) when a
// client leaves, so e.g. psycopg's prepared statement "_pg3_0" or an unfinished
// transaction does not leak into the next connection.
//
// FramedSocket also works around pglite-socket 0.0.20 bugs that kill the process:
//  - it hands every raw TCP chunk straight to PGlite, so a protocol message split
//    over several reads (anything > 64 KiB, e.g. a 1500-row multi-VALUES INSERT)
//    traps the WASM: FramedSocket forwards whole messages only;
//  - a socket error (client reset) becomes an unhandled rejection: FramedSocket
//    keeps socket errors to itself and lets the following 'close' end the session.
// And it answers SSLRequest/GSSENCRequest with "N" (PGlite answers them with an
// authentication request, which libpq rejects under the default sslmode=prefer).

import { EventEmitter } from 'node:events';
import { PGlite } from '@electric-sql/pglite';
import { timescaledb } from '@electric-sql/pglite/timescaledb';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const SHUTDOWN_GRACE_MS = 2000;

/** Frontend message: type byte, int32 length (self-inclusive), body. */
function message(type, body = Buffer.alloc(0)) {
  const header = Buffer.alloc(5);
  header.write(type, 0, 'latin1');
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}

/**
 * Sync (ends any half-done extended-protocol exchange), then a session reset.
 * DISCARD ALL reverts search_path to its built-in "pg_catalog"; PGlite itself
 * sets "public" when it starts, so that is restored too.
 */
const RESET_SESSION = Buffer.concat([
  message('S'),
  message('Q', Buffer.from('ROLLBACK\0')),
  message('Q', Buffer.from('DISCARD ALL\0')),
  message('Q', Buffer.from('SET search_path TO public\0')),
]);

/**
 * Socket stand-in for pglite-socket: reads the client eagerly, forwards only
 * whole protocol messages, keeps them until a 'data' listener exists, and
 * resets the PGlite session when an attached client goes away.
 */
class FramedSocket extends EventEmitter {
  #db;
  #socket;
  #pending = Buffer.alloc(0);
  #ready = [];
  #inStartup = true;
  #closed = false;

  constructor(db, socket) {
    super();
    this.#db = db;
    this.#socket = socket;
    this.remoteAddress = socket.remoteAddress;
    this.remotePort = socket.remotePort;
    socket.on('data', (chunk) => this.#receive(chunk));
    socket.on('error', (error) => console.error(`client ${this.remotePort}: ${error.message}`));
    socket.on('close', async () => {
      // A 'data' listener means a pglite-socket handler holds the PGlite lock for
      // this client: reset the session before the close makes it let go.
      if (this.listenerCount('data') > 0) await this.#resetSession();
      this.#closed = true;
      this.emit('close');
    });
    // A listener attached later (after queueing) still gets what it missed,
    // including a close that happened while waiting for the PGlite lock.
    this.on('newListener', (event) => {
      if (event === 'data' || (event === 'close' && this.#closed)) {
        setImmediate(() => (event === 'data' ? this.#flush() : this.emit('close')));
      }
    });
  }

  get writable() {
    return this.#socket.writable;
  }

  write(data, callback) {
    return this.#socket.write(data, callback);
  }

  end() {
    this.#socket.end();
  }

  destroy() {
    this.#socket.destroy();
  }

  #receive(chunk) {
    this.#pending = Buffer.concat([this.#pending, chunk]);
    let complete = 0;
    for (;;) {
      const header = this.#inStartup ? 0 : 1; // startup-phase messages have no type byte
      if (this.#pending.length < complete + header + 4) break;
      const length = this.#pending.readInt32BE(complete + header);
      if (length < 4) {
        console.error(`client ${this.remotePort}: invalid message length ${length}`);
        this.#socket.destroy();
        return;
      }
      const end = complete + header + length;
      if (this.#pending.length < end) break;
      if (this.#inStartup && end - complete === 8) {
        const code = this.#pending.readInt32BE(complete + 4);
        if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
          this.#socket.write('N');
          this.#pending = Buffer.concat([this.#pending.subarray(0, complete), this.#pending.subarray(end)]);
          continue;
        }
      }
      this.#inStartup = false;
      complete = end;
    }
    if (complete === 0) return;
    this.#ready.push(this.#pending.subarray(0, complete));
    this.#pending = this.#pending.subarray(complete);
    this.#flush();
  }

  async #resetSession() {
    try {
      await this.#db.execProtocolRaw(RESET_SESSION);
    } catch (error) {
      console.error('session reset failed:', error);
    }
  }

  #flush() {
    while (this.#ready.length > 0 && this.listenerCount('data') > 0) {
      this.emit('data', this.#ready.shift());
    }
  }
}

/** pglite-socket server whose connections go through FramedSocket. */
class FramedSocketServer extends PGLiteSocketServer {
  handleConnection(socket) {
    return super.handleConnection(new FramedSocket(this.db, socket));
  }
}

const rawPort = process.argv[2] ?? process.env.PORT ?? '0';
const port = Number(rawPort);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`invalid port: ${rawPort}`);
  process.exit(2);
}

const db = await PGlite.create('memory://', { extensions: { timescaledb } });
const server = new FramedSocketServer({ db, host: '127.0.0.1', port });
server.addEventListener('error', (event) => console.error('pglite-socket error:', event.detail));
server.addEventListener('listening', (event) => process.stdout.write(`READY ${event.detail.port}\n`));

let stopping = false;
async function shutdown(signal) {
  if (stopping) return;
  stopping = true;
  console.error(`${signal} received, stopping`);
  const grace = new Promise((resolve) => setTimeout(resolve, SHUTDOWN_GRACE_MS).unref());
  // stop() waits for clients to disconnect; don't let a stuck one block exit.
  await Promise.race([server.stop().then(() => db.close()), grace]);
  process.exit(0);
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));

await server.start();
