import { readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isSecretLike, Redactor } from '../pipeline/redact.js';
import { benchmarkFiles, makeRig, type Rig, TOKEN } from './helpers/rig.js';

const ATTEMPT = 'benchmarks/b/eval-attempts/t-default-attempt-1';

const runLog = async (rig: Rig) => JSON.parse(await rig.read(`${ATTEMPT}/run-log.json`));

/** Every name under `root` (files, directories, links), relative, and every link target. */
async function namesAndTargets(root: string): Promise<{ names: string[]; targets: string[] }> {
  const names: string[] = [];
  const targets: string[] = [];
  for (const e of await readdir(root, { withFileTypes: true, recursive: true })) {
    const path = join(e.parentPath, e.name);
    names.push(path.slice(root.length + 1));
    if (e.isSymbolicLink()) targets.push(await readlink(path));
  }
  return { names: names.sort(), targets };
}

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
    // Moved into the attempt as it was: the same file, not a masked copy.
    expect(log.workspace.left).toBe('nothing');
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

describe('a token in names and link targets', () => {
  it('is masked in the attempt (what stays in the workspace: see collect-transfer), and run-log says so', async () => {
    const rig = await makeRig(benchmarkFiles('b'));
    const r = await rig.cli(['run', '--harness', 't', '--attempts', '1'], { TOKEN_NAMES: '1' });
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const log = await runLog(rig);
    for (const root of [join(rig.dir, ATTEMPT)]) {
      const { names, targets } = await namesAndTargets(root);
      expect(
        names.filter((n) => n.includes(TOKEN)),
        root,
      ).toEqual([]);
      expect(targets, root).toEqual(['target-***']);
      expect(names, root).toEqual(
        expect.arrayContaining(['file-***.txt', 'dir-***', 'dir-***/inner.txt', 'link']),
      );
      expect(await readFile(join(root, 'file-***.txt'), 'utf8')).toBe('named\n');
      expect(await readFile(join(root, 'dir-***/inner.txt'), 'utf8')).toBe('inner\n');
    }
    expect(log.logLimitations).toEqual([
      'a token was masked in workspace names, here and in what stays of the workspace: dir-***, file-***.txt',
    ]);
  });

  it('keeps a masked name from taking one the agent already used', async () => {
    const redactor = new Redactor([TOKEN]);
    const { maskedPaths } = await import('../pipeline/copy-tree.js');
    const moved = maskedPaths(
      [
        { type: 'file', path: `a-${TOKEN}` },
        { type: 'file', path: 'a-***' },
        { type: 'dir', path: `d-${TOKEN}` },
        { type: 'file', path: `d-${TOKEN}/x` },
      ],
      redactor,
    );
    expect(Object.fromEntries(moved)).toEqual({
      [`a-${TOKEN}`]: 'a-***-2',
      [`d-${TOKEN}`]: 'd-***',
      [`d-${TOKEN}/x`]: 'd-***/x',
    });
  });
});
