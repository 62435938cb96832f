import { once } from 'node:events';
import { type AddressInfo, connect, createServer } from 'node:net';

/**
 * The model gateway inside an attempt container: a TCP port on its loopback that pipes each
 * connection to the gateway's unix socket, mounted into the container. A CLI takes a base URL,
 * not a socket, and loopback is there even with no network at all (runner.yaml `network: model`).
 */
export interface Forwarder {
  /** The loopback port, chosen by the system. */
  port: number;
  close(): void;
}

/**
 * Listens on 127.0.0.1 (a free port) and forwards to `socket`, both ways. pipe() passes the bytes
 * as they come (pausing a side while the other is full) and then each side's end as a half-close:
 * a client may end its request and still read the answer. An error on either side closes both;
 * `onError` hears of the gateway's (a socket that is not there, a connection it reset). The
 * listener does not hold the process open: run-attempt exits with the CLI, whatever connection
 * is left.
 */
export async function forwardToSocket(socket: string, onError: (error: Error) => void): Promise<Forwarder> {
  const server = createServer({ allowHalfOpen: true }, (client) => {
    const upstream = connect({ path: socket, allowHalfOpen: true });
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close);
    upstream.on('error', (error) => {
      onError(error);
      close();
    });
    client.pipe(upstream);
    upstream.pipe(client);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  server.unref();
  return { port: (server.address() as AddressInfo).port, close: () => server.close() };
}
