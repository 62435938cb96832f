#!/usr/bin/env node
/**
 * The entrypoint of the harness image: `run-attempt --harness claude-code|codex|opencode
 * [--model M]`. It runs one attempt of the agent CLI in /workspace, one shot and headless, with
 * the same adapters the host uses in lite mode. The token arrives in the container environment
 * and is handed to the CLI the way it expects (environment, or opencode's auth.json in a home
 * directory that lives and dies with the container). The agent's files go only to /workspace.
 * With a model gateway (its unix socket mounted in), the CLI's base URL is a loopback port that
 * run-attempt forwards to that socket, and the token is the gateway's capability for the attempt.
 *
 * Exit codes: the CLI's own; 2 bad arguments or an unknown harness; 3 no prompt.md in the
 * workspace; 4 opencode without a model (it has no vendor default); 128+n when killed by signal n.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  DEFAULT_WRAPPER_PROMPT,
  type HarnessOptions,
  OPTIONS_ENV,
  PROMPT_ENV,
  prepareHome,
} from '../tasks/harnesses/adapter.js';
import { BUILT_IN_HARNESSES, harnessAdapter } from '../tasks/harnesses/registry.js';
import { LINGER_MS, lineFeeder } from '../tasks/harnesses/transcript.js';
import { forwardToSocket } from './gateway-forwarder.js';

const WORKSPACE = process.env.BENCH_PIPELINE_WORKSPACE ?? '/workspace';

function fail(code: number, message: string): never {
  process.stderr.write(`run-attempt: ${message}\n`);
  process.exit(code);
}

let values: { harness?: string; model?: string };
try {
  ({ values } = parseArgs({
    options: { harness: { type: 'string' }, model: { type: 'string' } },
    strict: true,
  }));
} catch (error) {
  fail(2, (error as Error).message);
}
const name = values.harness ?? fail(2, `--harness is required: one of ${BUILT_IN_HARNESSES.join(', ')}`);
// The options of bench.config.ts that shape the invocation: a base URL or the gateway, the token
// variable, args.
let options: HarnessOptions = {};
try {
  options = JSON.parse(process.env[OPTIONS_ENV] || '{}');
} catch {
  fail(2, `${OPTIONS_ENV} is not JSON`);
}
const { gateway } = options;
let told = false;
// The gateway's socket behind a loopback port, for the CLI's base URL. A connection that fails
// is said once (on stderr, into agent-run.log): the CLI's own retries would say it again and again.
const forwarder =
  gateway &&
  (await forwardToSocket(gateway.socket, (error) => {
    if (told) return;
    told = true;
    process.stderr.write(`run-attempt: the model gateway at ${gateway.socket}: ${error.message}\n`);
  }));
const baseUrl = forwarder ? `http://127.0.0.1:${forwarder.port}${gateway.basePath}` : options.baseUrl;
const adapter = harnessAdapter(name, { [name]: { baseUrl } });
if (!adapter?.builtIn) {
  fail(2, `unknown harness "${name}": this image runs ${BUILT_IN_HARNESSES.join(', ')}`);
}
const model = values.model || undefined;
if (adapter.requiresModel && !model) {
  fail(4, `${name} has no vendor default model: pass --model (runner.yaml defaults.${name}.model)`);
}
if (!existsSync(join(WORKSPACE, 'prompt.md'))) fail(3, `${WORKSPACE}/prompt.md is missing`);

// A fresh home per attempt (the container is per attempt too): no CLI state from anywhere else.
const home = mkdtempSync('/tmp/run-attempt-home-');
const env: NodeJS.ProcessEnv = { ...process.env, ...prepareHome(adapter, home, model) };
delete env[PROMPT_ENV];
delete env[OPTIONS_ENV];
const token = adapter.tokenEnv ? process.env[adapter.tokenEnv] : undefined;
if (adapter.tokenEnv && !token)
  process.stderr.write(`run-attempt: warning: ${adapter.tokenEnv} is not set\n`);
// codex exec takes an API key from CODEX_API_KEY; OPENAI_API_KEY alone serves custom providers.
if (name === 'codex' && token) env.CODEX_API_KEY ??= token;
// opencode: through the gateway, the provider the adapter configures takes the token from its
// variable ({env:...}); direct, the key goes into auth.json for opencode's own OpenRouter provider,
// in this container's own home, gone with it: never on the host.
if (name === 'opencode' && token && !gateway) {
  const dir = join(home, '.local/share/opencode');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'auth.json'), JSON.stringify({ openrouter: { type: 'api', key: token } }), {
    mode: 0o600,
  });
}

const prompt = process.env[PROMPT_ENV] || DEFAULT_WRAPPER_PROMPT;
const [program, ...args] = adapter.argv({ model, prompt, args: options.args ?? [] }) as [string, ...string[]];
const child = spawn(program, args, {
  cwd: WORKSPACE,
  env: { ...env, ...adapter.env({ model, prompt, args: [] }), PWD: WORKSPACE },
  stdio: ['ignore', 'pipe', 'inherit'],
});
// docker stop / kill reach this process (pid 1); pass them on so the CLI can end cleanly.
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => child.kill(signal));
// The event stream goes out as it comes; a CLI that lingers after its final event is ended.
const reader = adapter.transcript?.();
const feed = reader && lineFeeder(reader);
let ended = false;
child.stdout.on('data', (chunk: Buffer) => {
  process.stdout.write(chunk);
  feed?.(chunk);
  if (reader?.final && !ended) {
    ended = true;
    setTimeout(() => child.kill('SIGTERM'), LINGER_MS).unref();
  }
});
child.once('error', (error) =>
  fail((error as NodeJS.ErrnoException).code === 'ENOENT' ? 127 : 1, `${program}: ${error.message}`),
);
child.once('exit', (code, signal) => {
  // Ended after its final event: the CLI's own verdict decides.
  if (ended && signal) process.exit(reader?.summary().status === 'success' ? 0 : 1);
  process.exit(code ?? 128 + (signal ? constants.signals[signal] : 0));
});
