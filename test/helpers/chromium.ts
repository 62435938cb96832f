/**
 * A real browser for the tests that render HTML: Debian's `chromium`, driven over the DevTools
 * protocol on a pipe (fd 3 carries commands in, fd 4 replies and events out, each message JSON
 * ended by a NUL byte), so no npm dependency. A missing or crashing chromium throws with its
 * stderr: a page test never skips.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';

/** How long one protocol command may take before the page is declared stuck. */
const COMMAND_TIMEOUT_MS = 20_000;

interface Message {
  id?: number;
  method?: string;
  sessionId?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: { message: string };
}

export interface Viewport {
  width: number;
  height: number;
}

export interface Page {
  /** What the page logged as an error: uncaught exceptions, console.error and error log entries. */
  errors: string[];
  /** The value of a JavaScript expression in the page (awaited if a promise), as JSON. */
  evaluate<T = unknown>(expression: string): Promise<T>;
  /** A PNG of the whole page (its full height) at the given viewport width. */
  screenshot(path: string, viewport?: Viewport): Promise<void>;
  /** Resize the viewport (the page lays itself out again). */
  resize(viewport: Viewport): Promise<void>;
  close(): Promise<void>;
}

/** One chromium process and its pipe: sends commands, matches replies by id, hands events on. */
class Connection {
  private nextId = 1;
  private buffer = '';
  private readonly pending = new Map<number, { resolve: (m: Message) => void; reject: (e: Error) => void }>();
  private readonly listeners: ((m: Message) => void)[] = [];
  private stderr = '';
  private exited: Error | undefined;

  constructor(private readonly child: ChildProcess) {
    const output = child.stdio[4] as Readable;
    output.setEncoding('utf8');
    output.on('data', (chunk: string) => this.receive(chunk));
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-8_000);
    });
    // A chromium that never started or died closes the pipe: writes then fail with EPIPE.
    (child.stdio[3] as Writable).on('error', (e) => this.fail(`chromium's command pipe: ${e.message}`));
    child.on('error', (e) => this.fail(`chromium could not start: ${e.message}`));
    child.on('exit', (code, signal) => this.fail(`chromium exited (code ${code}, signal ${signal})`));
  }

  /** Every message without an id is an event; `listener` sees each one. */
  onEvent(listener: (m: Message) => void): void {
    this.listeners.push(listener);
  }

  send(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<Message> {
    if (this.exited) return Promise.reject(this.exited);
    const id = this.nextId++;
    (this.child.stdio[3] as Writable).write(`${JSON.stringify({ id, method, params, sessionId })}\0`);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(this.error(`${method} got no reply in ${COMMAND_TIMEOUT_MS} ms`)),
        COMMAND_TIMEOUT_MS,
      );
      this.pending.set(id, {
        resolve: (m) => {
          clearTimeout(timer);
          if (m.error) reject(this.error(`${method}: ${m.error.message}`));
          else resolve(m);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
  }

  /** An error that carries chromium's recent stderr, which is where its own reasons go. */
  error(message: string): Error {
    return new Error(`${message}\nchromium stderr:\n${this.stderr || '(empty)'}`);
  }

  /**
   * Ends chromium and its helper processes: Browser.close lets it finish writing its profile (else
   * removing the profile races with its last writes), and a SIGKILL of its process group follows
   * if it has not exited within a second.
   */
  async close(): Promise<void> {
    // No pid: it never started. An exit code or signal: it has ended already.
    if (this.child.pid === undefined || this.child.exitCode !== null || this.child.signalCode !== null)
      return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.send('Browser.close').catch(() => {});
    const timer = setTimeout(() => {
      try {
        process.kill(-this.child.pid!, 'SIGKILL');
      } catch {
        // The group ended between the check and the kill: nothing is left to end.
      }
    }, 1_000);
    await exited;
    clearTimeout(timer);
  }

  private receive(chunk: string): void {
    this.buffer += chunk;
    for (let end = this.buffer.indexOf('\0'); end >= 0; end = this.buffer.indexOf('\0')) {
      const message = JSON.parse(this.buffer.slice(0, end)) as Message;
      this.buffer = this.buffer.slice(end + 1);
      if (message.id === undefined) for (const listener of this.listeners) listener(message);
      else this.pending.get(message.id)?.resolve(message);
      if (message.id !== undefined) this.pending.delete(message.id);
    }
  }

  private fail(message: string): void {
    this.exited ??= this.error(message);
    for (const { reject } of this.pending.values()) reject(this.exited);
    this.pending.clear();
  }
}

/** `promise`, or the error `late` makes when it takes longer than a command may. */
async function withTimeout<T>(promise: Promise<T>, late: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(late()), COMMAND_TIMEOUT_MS);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Starts chromium on the pipe; throws (with stderr) if it does not answer. */
async function launch(): Promise<{ connection: Connection; profile: string }> {
  const profile = mkdtempSync(join(tmpdir(), 'bench-chromium-'));
  const child = spawn(
    'chromium',
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--remote-debugging-pipe',
      `--user-data-dir=${profile}`,
      'about:blank',
    ],
    // Its own process group, so that close can end the helper processes with it.
    { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'], detached: true },
  );
  const connection = new Connection(child);
  try {
    await connection.send('Browser.getVersion');
  } catch (e) {
    await connection.close();
    rmSync(profile, { recursive: true, force: true, maxRetries: 5 });
    throw e;
  }
  return { connection, profile };
}

/** Describes one error event of the page, or undefined when the event is no error. */
function errorOf(m: Message): string | undefined {
  const p = m.params ?? {};
  if (m.method === 'Runtime.exceptionThrown') {
    const details = p.exceptionDetails as { text?: string; exception?: { description?: string } };
    return `exception: ${details.exception?.description ?? details.text}`;
  }
  if (m.method === 'Runtime.consoleAPICalled' && p.type === 'error') {
    const args = p.args as { value?: unknown; description?: string }[];
    return `console.error: ${args.map((a) => a.description ?? String(a.value)).join(' ')}`;
  }
  const entry = p.entry as { level?: string; text?: string; url?: string } | undefined;
  if (m.method === 'Log.entryAdded' && entry?.level === 'error')
    return `log: ${entry.text} ${entry.url ?? ''}`;
  return undefined;
}

/** Opens `file` in a fresh headless chromium at `viewport` and waits for its load event. */
export async function openPage(
  file: string,
  viewport: Viewport = { width: 1280, height: 800 },
): Promise<Page> {
  const { connection, profile } = await launch();
  const errors: string[] = [];
  let loaded: () => void = () => {};
  connection.onEvent((m) => {
    const error = errorOf(m);
    if (error) errors.push(error);
    if (m.method === 'Page.loadEventFired') loaded();
  });
  const close = async () => {
    await connection.close();
    rmSync(profile, { recursive: true, force: true, maxRetries: 5 });
  };
  try {
    const target = await connection.send('Target.createTarget', { url: 'about:blank' });
    const attached = await connection.send('Target.attachToTarget', {
      targetId: target.result?.targetId,
      flatten: true,
    });
    const sessionId = attached.result?.sessionId as string;
    const send = (method: string, params?: Record<string, unknown>) =>
      connection.send(method, params, sessionId);
    const resize = async ({ width, height }: Viewport) => {
      await send('Emulation.setDeviceMetricsOverride', {
        width,
        height,
        deviceScaleFactor: 1,
        mobile: false,
      });
    };
    await Promise.all([send('Runtime.enable'), send('Log.enable'), send('Page.enable')]);
    await resize(viewport);
    const url = pathToFileURL(file).href;
    // The blank page's own load event may still be on its way: wait until the one that fired is the file's.
    const isLoaded = async () => {
      const reply = await send('Runtime.evaluate', {
        expression: 'location.href + " " + document.readyState',
        returnByValue: true,
      });
      return (reply.result as { result: { value: string } }).result.value === `${url} complete`;
    };
    const loadedFile = (async () => {
      do await new Promise<void>((resolve) => (loaded = resolve));
      while (!(await isLoaded()));
    })();
    await send('Page.navigate', { url });
    await withTimeout(loadedFile, () => connection.error(`${file} did not fire its load event`));
    return {
      errors,
      resize,
      close,
      async evaluate<T>(expression: string) {
        const reply = await send('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true });
        const result = reply.result as { result: { value: T }; exceptionDetails?: { text: string } };
        if (result.exceptionDetails)
          throw new Error(`evaluate ${expression}: ${result.exceptionDetails.text}`);
        return result.result.value;
      },
      async screenshot(path: string, size: Viewport = viewport) {
        await resize(size);
        // The whole page, not just the viewport: clip to the content's size and capture beyond the viewport.
        const metrics = await send('Page.getLayoutMetrics');
        const content = metrics.result?.cssContentSize as { width: number; height: number };
        const clip = { x: 0, y: 0, width: size.width, height: Math.ceil(content.height), scale: 1 };
        const shot = await send('Page.captureScreenshot', {
          format: 'png',
          captureBeyondViewport: true,
          clip,
        });
        writeFileSync(path, Buffer.from(shot.result?.data as string, 'base64'));
      },
    };
  } catch (e) {
    await close();
    throw e;
  }
}
