import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { benchmarkFiles, CLI, makeRig } from './helpers/rig.js';

describe('reporters', () => {
  it('on a terminal, run shows a live view of running attempts with elapsed time and counts', async () => {
    const rig = await makeRig(benchmarkFiles('b'));
    // `script` gives the CLI a real pseudo-terminal, so process.stdout.isTTY is true.
    const command = `${process.execPath} ${CLI} run --harness t --attempts 2 --concurrency 2`;
    const out = execFileSync('script', ['-qfec', command, '/dev/null'], {
      cwd: rig.dir,
      env: {
        ...process.env,
        COUNT_FILE: rig.countFile,
        TEST_TOKEN: 'tty-token-abcdef',
        HARNESS_SLEEP_MS: '800',
        COLUMNS: '120',
      },
      encoding: 'utf8',
    });
    expect(out).toMatch(/⏵ b\/t-default-attempt-[12] {2}\d/);
    expect(out).toMatch(/0 done, 2 running, 0 queued/);
    // The block is redrawn in place: cursor up and clear to the end of the screen.
    expect(out).toContain('\x1b[0J');
    expect(out).toContain('2 completed (2 succeeded, 0 failed, 0 timed out)');
    expect(out).not.toContain('tty-token-abcdef');
  });

  it('--json prints one parseable event per line, ending with the summary', async () => {
    const rig = await makeRig(benchmarkFiles('b'));
    const r = await rig.cli(['run', '--harness', 't', '--attempts', '2', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const events = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string });
    expect(events[0]?.type).toBe('run-start');
    expect(events.at(-1)?.type).toBe('run-end');
    expect(events.filter((e) => e.type === 'attempt-end')).toHaveLength(2);
    expect(events.filter((e) => e.type === 'node-done').length).toBeGreaterThanOrEqual(2 * 3 + 3);
  });

  it('plain output, for pipes, is one line per event and a final summary', async () => {
    const rig = await makeRig(benchmarkFiles('b'));
    const r = await rig.cli(['run', '--harness', 't', '--attempts', '1']);
    expect(r.stdout).toMatch(/^run \S+: 1 to run, 0 already done/m);
    expect(r.stdout).toMatch(/^start {2}b\/t-default-attempt-1 {2}workspace /m);
    expect(r.stdout).toMatch(/^done {3}b\/t-default-attempt-1 {2}succeeded in /m);
    expect(r.stdout).toContain('next: score the attempts into eval-results/');
    expect(r.stdout).not.toContain('\x1b[');
  });

  it('every reporter explains an exit the same way: 137 is killed, often out of memory', async () => {
    const rig = await makeRig(benchmarkFiles('b'));
    const r = await rig.cli(['run', '--harness', 't', '--attempts', '1'], { HARNESS_EXIT: '137' });
    expect(r.code).toBe(1);
    const explained = 'exit 137 (killed; often out of memory)';
    expect(r.stdout).toContain(`done   b/t-default-attempt-1  failed (${explained}) in `);
    expect(r.stdout).toContain(`\n  b/t-default-attempt-1  ${explained}, `);
  });
});
