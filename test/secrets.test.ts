import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isSecretLike, Redactor } from '../pipeline/redact.js';
import { benchmarkFiles, makeRig, type Rig, TOKEN } from './helpers/rig.js';

const ATTEMPT = 'benchmarks/b/eval-attempts/t-default-attempt-1';

const runLog = async (rig: Rig) => JSON.parse(await rig.read(`${ATTEMPT}/run-log.json`));

describe('which values are secrets', () => {
  it('takes issued keys, never placeholders or plain words', () => {
    for (const key of [TOKEN, 'sk-ant-api03-AbCdEf0123456789', 'aBcDeFgHiJkLmNoPqRsT', 'sk-abcdefghijklmnop'])
      expect(isSecretLike(key), key).toBe(true);
    for (const placeholder of ['test', 'none', 'Dummy', 'sk-123', 'notarealkeyatall', 'PLACEHOLDERVALUES'])
      expect(isSecretLike(placeholder), placeholder).toBe(false);
    const redactor = new Redactor(['test', 'none', TOKEN]);
    expect(redactor.redact(`import { test } from 'node:test'; ${TOKEN} none`)).toBe(
      "import { test } from 'node:test'; *** none",
    );
  });
});

describe('placeholder keys', () => {
  it("never mask an agent's work: only the running harness's real token is masked", async () => {
    const rig = await makeRig(benchmarkFiles('b'));
    const r = await rig.cli(['run', '--harness', 't', '--attempts', '1'], {
      OPENAI_API_KEY: 'test',
      ANTHROPIC_API_KEY: 'none',
      WRITE_APP: '1',
      WRITE_TOKEN: '1',
    });
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const app = "import { test } from 'node:test';\ntest('none', () => {});\n";
    expect(await rig.ls(ATTEMPT)).toContain('app.test.js');
    expect(await rig.read(`${ATTEMPT}/app.test.js`)).toBe(app);
    // The harness's own real token is still masked, and named.
    expect(await rig.read(`${ATTEMPT}/secret.txt`)).toBe('leaked ***\n');
    const log = await runLog(rig);
    expect(log.logLimitations).toEqual(['a token was masked in workspace files: secret.txt']);
    expect(JSON.stringify(log)).not.toContain('***.js');
    // The kept temp workspace is untouched where no real token was.
    expect(await readFile(join(log.workspace.path, 'app.test.js'), 'utf8')).toBe(app);
  });

  it("warn when the running harness's token is a placeholder, without printing it, and mask nothing", async () => {
    const rig = await makeRig(benchmarkFiles('b'));
    const r = await rig.cli(['run', '--harness', 't', '--attempts', '1', '--json'], {
      TEST_TOKEN: 'placeholder',
      WRITE_APP: '1',
    });
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const events = r.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { type: string; message?: string });
    const warnings = events.filter((e) => e.type === 'warning').map((e) => e.message ?? '');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('TEST_TOKEN');
    expect(warnings[0]).toContain('not a real secret');
    expect(warnings[0]).not.toContain('placeholder');
    expect(await rig.read(`${ATTEMPT}/agent-run.log`)).toContain('token: placeholder');
    expect((await runLog(rig)).logLimitations).toEqual([]);
  });
});
