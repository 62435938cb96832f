/**
 * run-attempt's loopback forwarder to the model gateway's unix socket, on the host: bytes both
 * ways, each side's end passed on as a half-close, an error on either side closing both. (The
 * docker suite runs it in a container with no network.)
 */
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Forwarder, forwardToSocket } from '../images/gateway-forwarder.js';
import { REPO, waitFor } from './helpers/rig.js';

let dir = '';
let upstream: Server | undefined;
let forwarder: Forwarder | undefined;
afterEach(async () => {
  forwarder?.close();
  upstream?.close();
  await rm(dir, { recursive: true, force: true });
});

/** A unix-socket server at `<dir>/gateway.sock` that hands each connection to `serve`. */
async function socketServer(serve: (socket: Socket) => void): Promise<string> {
  dir = await mkdtemp(join(tmpdir(), 'bp-forward-'));
  const path = join(dir, 'gateway.sock');
  upstream = createServer({ allowHalfOpen: true }, serve);
  upstream.listen(path);
  await once(upstream, 'listening');
  return path;
}

const dial = (port: number) => connect({ port, host: '127.0.0.1', allowHalfOpen: true });

/** What `socket` reads up to its end; unlike stream/consumers, leaves its writing side open. */
const readToEnd = (socket: Socket) =>
  new Promise<string>((resolve, reject) => {
    let got = '';
    socket.on('data', (c: Buffer) => {
      got += c.toString();
    });
    socket.once('end', () => resolve(got));
    socket.once('error', reject);
  });

const closed = (socket: Socket) => new Promise<void>((resolve) => socket.once('close', () => resolve()));

describe('the gateway forwarder', () => {
  it('listens on loopback and passes a request ended by the client, then the answer', async () => {
    const socket = await socketServer(async (s) => {
      // Answers only once the request has ended: the client's half-close must come through.
      const request = await readToEnd(s);
      s.end(`got ${request.length} bytes: ${request.slice(0, 5)}`);
    });
    forwarder = await forwardToSocket(socket, () => {});
    const client = dial(forwarder.port);
    const big = `hello${'x'.repeat(1 << 20)}`;
    client.end(big);
    expect(await readToEnd(client)).toBe(`got ${big.length} bytes: hello`);
  });

  it('passes the gateway ending first, and the client may still send after it', async () => {
    const heard: string[] = [];
    const socket = await socketServer(async (s) => {
      s.end('bye first');
      heard.push(await readToEnd(s));
    });
    forwarder = await forwardToSocket(socket, () => {});
    const client = dial(forwarder.port);
    expect(await readToEnd(client)).toBe('bye first');
    client.end('still heard');
    await waitFor(() => heard.length > 0, 5_000, 'the gateway to read to the end');
    expect(heard).toEqual(['still heard']);
  });

  it('closes the client when the gateway is not there, and says why', async () => {
    dir = await mkdtemp(join(tmpdir(), 'bp-forward-'));
    const errors: Error[] = [];
    forwarder = await forwardToSocket(join(dir, 'gateway.sock'), (e) => errors.push(e));
    const client = dial(forwarder.port);
    client.on('error', () => {});
    client.write('anyone?');
    await closed(client);
    expect(errors.map((e) => (e as NodeJS.ErrnoException).code)).toEqual(['ENOENT']);
  });

  it('an error on either side closes the other', async () => {
    const gatewaySide: Socket[] = [];
    const socket = await socketServer((s) => {
      s.on('error', () => {});
      s.resume();
      gatewaySide.push(s);
    });
    const errors: Error[] = [];
    forwarder = await forwardToSocket(socket, (e) => errors.push(e));

    // The gateway's side is gone: what the client still sends fails there, and the client goes.
    const first = dial(forwarder.port);
    first.on('error', () => {});
    const firstClosed = closed(first);
    await waitFor(() => gatewaySide.length === 1, 5_000, 'the first connection');
    gatewaySide[0]!.destroy();
    await readToEnd(first);
    first.write('into the void');
    await waitFor(() => errors.length > 0, 5_000, 'the write to the gateway to fail');
    expect(errors.map((e) => (e as NodeJS.ErrnoException).code)).toEqual(['EPIPE']);
    // The closed connection shows on the client's side at its next writes (the peer's reset).
    const writing = setInterval(() => first.write('more'), 20);
    await firstClosed.finally(() => clearInterval(writing));

    // The client resets: the gateway's side is closed, not just ended (it could still write then).
    const second = dial(forwarder.port);
    await waitFor(() => gatewaySide.length === 2, 5_000, 'the second connection');
    const ended = once(gatewaySide[1]!, 'end');
    const gone = closed(gatewaySide[1]!);
    second.resetAndDestroy();
    await ended;
    const answering = setInterval(() => gatewaySide[1]!.write('anyone there?'), 20);
    await gone.finally(() => clearInterval(answering));
  });

  it('does not keep a process alive by itself', () => {
    // The compiled forwarder, as run-attempt has it in the image.
    const script =
      `const { forwardToSocket } = await import(${JSON.stringify(join(REPO, 'dist/images/gateway-forwarder.js'))});` +
      `const f = await forwardToSocket('/nonexistent/gateway.sock', () => {}); console.log(f.port);`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 10_000,
    });
    expect(Number(out)).toBeGreaterThan(0);
  });
});
