import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { modelId, parseAttemptName } from '../pipeline/attempts.js';
import { parseDuration } from '../pipeline/duration.js';
import { canonicalJson, diffPreimages, keyFamily, nodeKey } from '../pipeline/keys.js';
import { Redactor } from '../pipeline/redact.js';

describe('model-id', () => {
  it('follows the design examples', () => {
    expect(modelId('opencode', 'openrouter/z-ai/glm-4.7')).toBe('opencode-z-ai-glm-4.7');
    expect(modelId('scripted', 'm1')).toBe('scripted-m1');
    expect(modelId('claude-code', undefined)).toBe('claude-code-default');
    expect(modelId('codex', 'GPT 5 (High)', 'mcp')).toBe('codex-gpt-5--high--mcp');
  });

  it('round-trips through attempt directory names', () => {
    expect(parseAttemptName('opencode-z-ai-glm-4.7-attempt-12')).toEqual({
      modelId: 'opencode-z-ai-glm-4.7',
      n: 12,
    });
    expect(parseAttemptName('x-attempt-0')).toBeUndefined();
    expect(parseAttemptName('.replaced')).toBeUndefined();
  });
});

describe('keys', () => {
  it('do not depend on property order', () => {
    expect(canonicalJson({ b: 1, a: { d: 2, c: [3, { f: 1, e: 0 }] } })).toBe(
      '{"a":{"c":[3,{"e":0,"f":1}],"d":2},"b":1}',
    );
    const task = { name: 'seed-workspace', version: 1 };
    expect(nodeKey(task, { x: 1, y: 2 }).key).toBe(nodeKey(task, { y: 2, x: 1 }).key);
    expect(nodeKey(task, { x: 1 }).key).not.toBe(nodeKey({ ...task, version: 2 }, { x: 1 }).key);
  });

  it('are sha256 of the canonical preimage, as every stored key was made', () => {
    const key = nodeKey({ name: 'run-harness', version: 1 }, { n: 1, model: 'm1' }, { seed: 'aa' });
    // sha256 of {"params":{"model":"m1","n":1},"salt":"bench-pipeline/1","task":"run-harness","upstream":{"seed":"aa"},"version":1}
    expect(key.key).toBe('1383800814146c318ea9e498e8af1db682761a4f0014cffeba91fd4f990fc6f0');
  });

  it('of a family are the keys nodeKey gives, preimages and all', () => {
    const task = { name: 'run-harness', version: 1 };
    const params = {
      model: 'm1',
      harness: { env: {}, args: ['--x'] },
      wrapperPrompt: 'Do "it"\n\u0000.',
      n: 0,
    };
    const upstream = { seed: 'aa', pin: 'bb' };
    const family = keyFamily(task, params, upstream, 'n');
    for (const n of [1, 2, 9, 10, 123, 10_000, 1.5, -0, Number.NaN])
      expect(family(n)).toEqual(nodeKey(task, { ...params, n }, upstream));
    // A parameter that holds the family's own marker: the keys are still nodeKey's.
    const odd = { ...params, note: '\u0000n\u0000' };
    expect(keyFamily(task, odd, upstream, 'n')(3)).toEqual(nodeKey(task, { ...odd, n: 3 }, upstream));
  });

  it('explain a difference as the changed leaf paths', () => {
    const task = { name: 'run-harness', version: 1 };
    const a = nodeKey(task, { model: 'm1', n: 1, harness: { cliVersion: '1.0' } }, { seed: 'aa' }).preimage;
    const b = nodeKey(task, { model: 'm1', n: 1, harness: { cliVersion: '1.1' } }, { seed: 'bb' }).preimage;
    expect(diffPreimages(a, b)).toEqual(['params.harness.cliVersion', 'upstream.seed']);
  });
});

describe('durations', () => {
  it('parse the usual forms and refuse the rest', () => {
    expect(parseDuration('30m')).toBe(1_800_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('90')).toBe(90_000);
    expect(parseDuration('soon')).toBeUndefined();
    expect(parseDuration('10 m')).toBeUndefined();
  });
});

describe('redactor', () => {
  const secret = 'sk-abcdefghijklmnop';
  const redactor = new Redactor([secret, undefined, '']);

  it('masks secrets in text and buffers', () => {
    expect(redactor.redact(`a ${secret} b ${secret}`)).toBe('a *** b ***');
    expect(redactor.redactBuffer(Buffer.from(`x${secret}y`)).toString()).toBe('x***y');
  });

  it('masks a secret split across stream chunks, one byte at a time', async () => {
    const input = `before ${secret} middle ${secret}after`;
    const chunks = [...Buffer.from(input)].map((b) => Buffer.from([b]));
    const out = await text(Readable.from(chunks).pipe(redactor.stream()));
    expect(out).toBe('before *** middle ***after');
  });

  it('streams output at once, holding back only what could start a secret', async () => {
    const stream = redactor.stream();
    const seen: string[] = [];
    stream.on('data', (c: Buffer) => seen.push(c.toString()));
    const written = async (s: string) => {
      stream.write(Buffer.from(s));
      await new Promise((r) => setImmediate(r));
      return seen.join('');
    };
    expect(await written('a whole line\n')).toBe('a whole line\n');
    expect(await written('then sk-abc')).toBe('a whole line\nthen ');
    expect(await written('def but no secret\n')).toBe('a whole line\nthen sk-abcdef but no secret\n');
    stream.end();
  });
});
