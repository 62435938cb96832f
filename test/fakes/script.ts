/**
 * The conversation every fake protocol plays, whatever the wire format: the first model turn asks
 * the CLI to write `hello.txt` through one of the tools the CLI itself offered; once a tool result
 * is in the conversation, the model says it is done and echoes the API key it was called with (so
 * tests can prove the pipeline masks that key in everything it writes). Requests that offer no
 * usable tool (title generation and other side tasks) get a short plain answer.
 *
 * With `dumpEnv`, the first turn goes through the CLI's shell tool instead, and the same command
 * also writes the shell's whole environment to `env.b64`, base64-encoded: a test decodes it to see
 * which values the agent really had, which a redactor masking secrets in plain text cannot hide.
 */

/** Which agent CLI a protocol stands for; also what `hello.txt` says ("hello from codex"). */
export type CliName = 'claude-code' | 'codex' | 'opencode';

/** The file the first turn makes the CLI write, relative to its working directory. */
export const HELLO_FILE = 'hello.txt';

/** Written beside `hello.txt` in env-dump mode: `env -0 | base64 -w0`. */
export const ENV_FILE = 'env.b64';

/** The environment in an `env.b64`: base64 of NUL-terminated `NAME=value` entries. */
export function readEnvDump(base64: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of Buffer.from(base64, 'base64').toString('utf8').split('\0')) {
    const eq = entry.indexOf('=');
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return env;
}

/** What `hello.txt` holds after a run of `cli`, with no trailing newline. */
export function helloContent(cli: CliName): string {
  return `hello from ${cli}`;
}

/**
 * Tokens reported for every reply, side tasks included, so tests can predict the totals a CLI
 * reports: a run of N model calls reports N times these.
 */
export const USAGE = { inputTokens: 1000, outputTokens: 50 } as const;

/** A tool as the CLI offered it, whatever the protocol's schema wrapper. */
export interface OfferedTool {
  name: string;
  /** `function` tools take JSON arguments; `custom` (Responses API freeform) tools take raw text. */
  kind: 'function' | 'custom';
  /** Top-level argument names of its JSON schema. */
  properties: string[];
}

/** What the fake model answers on one turn. */
export type Reply =
  | { kind: 'tool_call'; name: string; input: Record<string, unknown> }
  | { kind: 'final'; text: string }
  | { kind: 'side'; text: string };

export interface TurnContext {
  cli: CliName;
  tools: OfferedTool[];
  /** Whether any tool result is already in the conversation: then the work is done. */
  hasToolResult: boolean;
  /** The CLI's working directory, when its prompt says; write tools want absolute paths. */
  cwd: string | undefined;
  apiKey: string | undefined;
  /** Write through a shell tool, and dump its environment to `env.b64` too. */
  dumpEnv?: boolean;
}

/** The next reply of the script; pure, so the protocol modules only encode it. */
export function decideReply(turn: TurnContext): Reply {
  if (turn.hasToolResult) {
    return { kind: 'final', text: `Done: wrote ${HELLO_FILE}. Called with key ${turn.apiKey ?? '(none)'}.` };
  }
  const call = writeCall(turn);
  if (call) return call;
  // Title generation, quota probes and the like offer no tools; a call with no usable tool
  // should not loop either, so it too gets a plain answer naming what was missing.
  const missing = turn.dumpEnv ? 'shell' : 'file-writing';
  const why = turn.tools.length === 0 ? 'Hello file' : `fake model: no ${missing} tool offered`;
  return { kind: 'side', text: why };
}

/**
 * A call of the first offered tool that can write the file, in order of preference; in env-dump
 * mode, of a shell tool only.
 */
function writeCall(turn: TurnContext): Reply | undefined {
  const content = helloContent(turn.cli);
  const path = turn.cwd ? `${turn.cwd.replace(/\/+$/, '')}/${HELLO_FILE}` : HELLO_FILE;
  // A shell line that writes exactly `content`, without a trailing newline, like the write tools.
  // The environment is NUL-separated (`env -0`) so that values with newlines decode as they were.
  const hello = `printf '%s' '${content}' > ${HELLO_FILE}`;
  const shell = turn.dumpEnv ? `${hello} && env -0 | base64 -w0 > ${ENV_FILE}` : hello;
  const fns = turn.tools.filter((t) => t.kind === 'function');
  const has = (t: OfferedTool, p: string) => t.properties.includes(p);

  // Claude Code `Write` {file_path, content}, opencode `write` {filePath, content}.
  const write = fns.find((t) => /^write(_file)?$/i.test(t.name) && has(t, 'content'));
  const pathProp = write?.properties.find((p) => /path/i.test(p));
  if (write && pathProp && !turn.dumpEnv) {
    return { kind: 'tool_call', name: write.name, input: { [pathProp]: path, content } };
  }

  // Codex unified exec: `exec_command` {cmd}; it runs in the turn's cwd.
  const exec = fns.find((t) => t.name === 'exec_command' && has(t, 'cmd'));
  if (exec) return { kind: 'tool_call', name: exec.name, input: { cmd: shell } };

  // Older codex `shell` takes an argv array; `shell_command`, Bash and bash take one string.
  const argv = fns.find((t) => t.name === 'shell' && has(t, 'command'));
  if (argv) return { kind: 'tool_call', name: argv.name, input: { command: ['bash', '-lc', shell] } };
  const line = fns.find((t) => /^(shell_command|bash)$/i.test(t.name) && has(t, 'command'));
  if (line) {
    const input: Record<string, unknown> = { command: shell };
    if (has(line, 'description')) {
      input.description = turn.dumpEnv ? `Write ${HELLO_FILE} and ${ENV_FILE}` : `Write ${HELLO_FILE}`;
    }
    return { kind: 'tool_call', name: line.name, input };
  }
  return undefined;
}

/**
 * The working directory the CLI put in its prompt. Each CLI words it differently: Claude Code
 * "Primary working directory: /x", codex "<cwd>/x</cwd>", opencode "Working directory: /x".
 * Searched in the request body's JSON text, where a newline is the two characters `\n`.
 */
export function findCwd(bodyJson: string): string | undefined {
  const patterns = [
    /Primary working directory: (\/[^"\\<]+)/,
    /<cwd>(\/[^<"\\]+)<\/cwd>/,
    /Working directory: (\/[^"\\<]+)/,
  ];
  for (const re of patterns) {
    const m = re.exec(bodyJson);
    if (m?.[1]) return m[1].trim();
  }
  return undefined;
}
