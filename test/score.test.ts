import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { parseCsv } from '../tasks/score-sheet.js';
import { startModelServer } from './fakes/model-server.js';
import { allFiles, configFile, makeRig, REPO, type Rig, runnerYaml, TOKEN, waitFor } from './helpers/rig.js';

/**
 * `score` end to end, lite mode: real attempts of a scripted harness `w`, which writes the model
 * it was given into answer.txt (so `--model good` passes the hidden test and `--model bad` fails
 * it) and what its workspace held into seen.txt. Each check appends a line to checks.txt in the
 * rig, so a test counts the checks that ran.
 */
const HARNESS = `w: { command: ['sh', '-c', 'echo "$BENCH_PIPELINE_MODEL" > answer.txt; ls -aR > seen.txt'], versionCommand: ['sh', '-c', 'echo w 1'] },`;

const SCORECARD = `# Scorecard

| Criterion | Max | Method | Evidence required |
| --- | --- | --- | --- |
| The answer is good | 3 | auto | hidden test output |
| Partly right | 3 | auto | the partial check |
| Tests the answer | 2 | hybrid | the hidden test, read by hand |
| Style | 2 | manual | a reading |

Output format (CSV): \`Criterion,Score,Max,Notes,Evidence\`
`;

/** runner.yaml's scoring block: each check counts itself into `count` (an absolute path in the rig). */
function scoring(count: string, hiddenRun = 'sh hidden/check.sh') {
  const counted = (run: string) => JSON.stringify(`echo ran >> ${count}; ${run}`);
  return `
scoring:
  checks:
    - criterion: The answer is good
      run: ${counted(hiddenRun)}
      files: [hidden/]
    - criterion: Partly right
      run: ${counted('echo two of three; echo "SCORE 2/3"')}
    - criterion: Tests the answer
      run: ${counted('test -f hidden/check.sh && test ! -e run-log.json && test ! -e agent-run.log')}
      files: [hidden/check.sh]
`;
}

async function scoredRig(slugs = ['b']): Promise<Rig> {
  const rig = await makeRig({});
  const count = join(rig.dir, 'checks.txt');
  await rig.write({
    'bench.config.mjs': configFile().replace('harnesses: {', `harnesses: {\n    ${HARNESS}`),
  });
  for (const slug of slugs) {
    await rig.write({
      [`benchmarks/${slug}/runner.yaml`]: runnerYaml(slug, { allowed_harnesses: '\n  - w' }) + scoring(count),
      [`benchmarks/${slug}/prompt.md`]: 'Write your answer into answer.txt. Ask no follow-up questions.\n',
      [`benchmarks/${slug}/context.md`]: 'Context.\n',
      [`benchmarks/${slug}/scorecard.md`]: SCORECARD,
      [`benchmarks/${slug}/hidden/check.sh`]: 'echo "answer: $(cat answer.txt)"; grep -qx good answer.txt\n',
    });
    for (const model of ['good', 'bad']) {
      const r = await rig.cli(['run', slug, '--harness', 'w', '--model', model, '--attempts', '1']);
      expect(r.code, r.stdout + r.stderr).toBe(0);
    }
  }
  return rig;
}

/** The pids of processes whose command line is `command`. */
async function sleepers(command: string): Promise<number[]> {
  const pids: number[] = [];
  for (const pid of (await readdir('/proc')).filter((n) => /^\d+$/.test(n))) {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.split('\0').join(' ').trim() === command) pids.push(Number(pid));
  }
  return pids;
}

const checksRun = async (rig: Rig) =>
  existsSync(join(rig.dir, 'checks.txt'))
    ? (await readFile(join(rig.dir, 'checks.txt'), 'utf8')).split('\n').filter(Boolean).length
    : 0;

/** score.csv of an attempt, as rows by criterion. */
async function sheet(rig: Rig, attempt: string, slug = 'b') {
  const records = parseCsv(await rig.read(`benchmarks/${slug}/eval-results/${attempt}/score.csv`));
  if (!Array.isArray(records)) throw new Error(records.problem);
  const [head, ...rows] = records.map((r) => r.cells);
  expect(head).toEqual(['Criterion', 'Score', 'Max', 'Notes', 'Evidence']);
  return new Map(
    rows.map(([criterion, score, max, notes, evidence]) => [criterion, { score, max, notes, evidence }]),
  );
}

describe('score, lite mode', () => {
  it('a passing and a failing attempt get Max and 0, SCORE 2/3 partial credit, manual rows left empty', async () => {
    const rig = await scoredRig();
    const r = await rig.cli(['score']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('2 scored, 0 already scored, 0 failed');
    expect(await checksRun(rig)).toBe(6);

    const good = await sheet(rig, 'w-good-attempt-1');
    const bad = await sheet(rig, 'w-bad-attempt-1');
    expect([...good.keys()]).toEqual(['The answer is good', 'Partly right', 'Tests the answer', 'Style']);
    expect(good.get('The answer is good')).toMatchObject({ score: '3', max: '3', evidence: 'checks/1.log' });
    expect(good.get('The answer is good')!.notes).toContain('answer: good');
    expect(bad.get('The answer is good')).toMatchObject({ score: '0', max: '3' });
    expect(bad.get('The answer is good')!.notes).toMatch(/^exit 1: answer: bad/);
    expect(good.get('Partly right')).toMatchObject({ score: '2', notes: 'SCORE 2/3, exit 0: two of three' });
    expect(good.get('Tests the answer')!.score).toBe('2');
    expect(good.get('Tests the answer')!.notes).toMatch(/^automatic part only/);
    expect(good.get('Style')).toMatchObject({ score: '', max: '2', notes: 'manual' });

    const json = JSON.parse(await rig.read('benchmarks/b/eval-results/w-good-attempt-1/score.json'));
    expect(json).toMatchObject({ total: 7, max: 10, unscored: ['Style'], attempt: 'w-good-attempt-1' });
    const log = JSON.parse(await rig.read('benchmarks/b/eval-attempts/w-good-attempt-1/run-log.json'));
    expect(json.attemptKey).toBe(log.key);
    expect(json.preimage.upstream.attempt).toBe(log.key);
    expect(json.checks.map((c: { exitCode: number }) => c.exitCode)).toEqual([0, 0, 0]);
    expect(await rig.read('benchmarks/b/eval-results/w-bad-attempt-1/checks/1.log')).toContain('answer: bad');

    // The hidden files were never in an attempt's workspace, nor are they in the attempt now.
    for (const attempt of ['w-good-attempt-1', 'w-bad-attempt-1']) {
      const seen = await rig.read(`benchmarks/b/eval-attempts/${attempt}/seen.txt`);
      expect(seen).toContain('answer.txt');
      expect(seen).not.toMatch(/hidden|check\.sh|scorecard/);
      expect(rig.exists(`benchmarks/b/eval-attempts/${attempt}/hidden`)).toBe(false);
    }

    // A second score runs no check.
    const again = await rig.cli(['score']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('0 scored, 2 already scored, 0 failed');
    expect(await checksRun(rig)).toBe(6);
  });

  it('a changed hidden test rescores exactly the attempts of its benchmark, keeping the old scores aside', async () => {
    const rig = await scoredRig(['b', 'c']);
    expect((await rig.cli(['score', 'b', 'c'])).code).toBe(0);
    expect(await checksRun(rig)).toBe(12);
    await rig.write({
      'benchmarks/b/hidden/check.sh': 'echo "answer: $(cat answer.txt)"; grep -qx bad answer.txt\n',
    });
    const plan = await rig.cli(['plan', 'b', 'c', '--harness', 'w', '--score']);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toMatch(
      /b\/w-good-attempt-1\s+stale\s+\w+\s+the checks of "The answer is good", "Tests/,
    );
    expect(plan.stdout).toMatch(/c\/w-good-attempt-1\s+done\s+\w+\s+scored 7\/10, 1 of 4 rows unscored/);
    expect(plan.stdout).toContain('scores: 2 done, 0 missing, 2 stale; score would score 2');
    const status = await rig.cli(['status', 'b']);
    expect(status.stdout).toMatch(/w-good: 1 complete .*\n {4}scores: 0 done, 0 missing, 1 stale/);
    expect(status.stdout).toContain(
      '    attempt 1 score stale: the checks of "The answer is good", "Tests the answer" changed',
    );
    expect(await checksRun(rig)).toBe(12);
    const rescored = await rig.cli(['score', 'b', 'c', '--json']);
    expect(rescored.code, rescored.stderr).toBe(0);
    const summary = JSON.parse(rescored.stdout);
    expect(summary).toMatchObject({ scored: 2, alreadyScored: 2, failed: 0 });
    const why = summary.attempts.map((a: { attempt: string; why: string }) => `${a.attempt} ${a.why}`);
    expect(why).toContain(
      'w-good-attempt-1 scored again: the checks of "The answer is good", "Tests the answer" changed (command, files or limits)',
    );
    // A score is keyed by all of its checks: the three of each of b's two attempts ran again, none of c's.
    expect(await checksRun(rig)).toBe(18);
    expect((await sheet(rig, 'w-bad-attempt-1')).get('The answer is good')!.score).toBe('3');
    expect((await sheet(rig, 'w-good-attempt-1')).get('The answer is good')!.score).toBe('0');
    expect((await sheet(rig, 'w-good-attempt-1', 'c')).get('The answer is good')!.score).toBe('3');
    const replaced = await rig.ls('benchmarks/b/eval-results/.replaced');
    expect(replaced.map((n) => n.replace(/\.[^.]+$/, ''))).toEqual(['w-bad-attempt-1', 'w-good-attempt-1']);
    const old = JSON.parse(await rig.read(`benchmarks/b/eval-results/.replaced/${replaced[0]}/score.json`));
    expect(old.rows[0].score).toBe(0);
    expect(rig.exists('benchmarks/c/eval-results/.replaced')).toBe(false);
  });

  it('a stale score says why; manual.csv is merged without running a check; a wrong one is refused, located', async () => {
    const rig = await scoredRig();
    expect((await rig.cli(['score'])).code).toBe(0);
    const manual = 'benchmarks/b/eval-results/w-good-attempt-1/manual.csv';
    await rig.write({ [manual]: 'Criterion,Score,Max,Notes,Evidence\nStyle,1.5,2,"tidy, mostly",src/\n' });
    const merged = await rig.cli(['score']);
    expect(merged.code, merged.stdout + merged.stderr).toBe(0);
    expect(merged.stdout).toContain('1 scored, 1 already scored');
    expect(await checksRun(rig)).toBe(6);
    const good = await sheet(rig, 'w-good-attempt-1');
    expect(good.get('Style')).toMatchObject({ score: '1.5', notes: 'tidy, mostly', evidence: 'src/' });
    expect(good.get('The answer is good')!.score).toBe('3');
    expect(JSON.parse(await rig.read('benchmarks/b/eval-results/w-good-attempt-1/score.json')).total).toBe(
      8.5,
    );
    expect(await rig.read(manual)).toContain('tidy, mostly');

    await rig.write({
      [manual]: 'Criterion,Score,Max,Notes,Evidence\nStyle,5,2,,\nThe answer is good,1,3,,\n',
    });
    const wrong = await rig.cli(['score']);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain(`${manual}:2:1: Score "5" must be a number from 0 to 2`);
    expect(wrong.stderr).toContain(`${manual}:3:1: "The answer is good" is scored by its check`);
  });

  it('kill -9 mid-score leaves no results directory; the next score cleans up and completes', async () => {
    const rig = await scoredRig();
    const count = join(rig.dir, 'checks.txt');
    const yaml = await rig.read('benchmarks/b/runner.yaml');
    await rig.write({
      'benchmarks/b/runner.yaml': yaml.replace(scoring(count), scoring(count, 'sleep 37.25')),
    });
    const { child, done } = rig.spawnCli(['score', '--concurrency', '1']);
    await waitFor(
      async () => (await rig.ls('benchmarks/b/.pipeline/running')).length > 0,
      20_000,
      'a score marker',
    );
    await waitFor(async () => (await checksRun(rig)) > 0, 20_000, 'a check to start');
    child.kill('SIGKILL');
    await done;
    expect(await rig.ls('benchmarks/b/eval-results')).toEqual([]);
    expect(await sleepers('sleep 37.25')).toHaveLength(1);
    await rig.write({ 'benchmarks/b/runner.yaml': yaml });
    const r = await rig.cli(['score']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(await rig.ls('benchmarks/b/eval-results')).toEqual(['w-bad-attempt-1', 'w-good-attempt-1']);
    expect(await rig.ls('benchmarks/b/.pipeline/running')).toEqual([]);
    expect(await rig.ls('benchmarks/b/.pipeline/staging')).toEqual([]);
    // The check the killed invocation left running was stopped by the next one.
    expect(await sleepers('sleep 37.25')).toEqual([]);
  });

  it('run --score scores each attempt as it is published, --more ones too; a second run scores nothing', async () => {
    const rig = await scoredRig([]);
    const count = join(rig.dir, 'checks.txt');
    await rig.write({
      'benchmarks/b/runner.yaml': runnerYaml('b', { allowed_harnesses: '\n  - w' }) + scoring(count),
      'benchmarks/b/prompt.md': 'Write your answer into answer.txt. Ask no follow-up questions.\n',
      'benchmarks/b/context.md': 'Context.\n',
      'benchmarks/b/scorecard.md': SCORECARD,
      'benchmarks/b/hidden/check.sh': 'echo "answer: $(cat answer.txt)"; grep -qx good answer.txt\n',
    });
    const r = await rig.cli(['run', '--harness', 'w', '--model', 'good', '--attempts', '2', '--score']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/score {2}b\/w-good-attempt-1 {2}7\/10, 1 row to score by hand/);
    expect(r.stdout).toContain('scored 2 attempts into eval-results/, 0 not scored');
    expect(await rig.ls('benchmarks/b/eval-results')).toEqual(['w-good-attempt-1', 'w-good-attempt-2']);
    expect(await checksRun(rig)).toBe(6);

    const more = await rig.cli(['run', '--harness', 'w', '--model', 'good', '--more', '1', '--score']);
    expect(more.code, more.stdout + more.stderr).toBe(0);
    expect(more.stdout).toContain('score  b/w-good-attempt-3  7/10');
    expect(await checksRun(rig)).toBe(9);

    const again = await rig.cli(['run', '--harness', 'w', '--model', 'good', '--attempts', '3', '--score']);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).toContain('0 completed');
    expect(again.stdout).toContain('scored 0 attempts into eval-results/');
    expect(await checksRun(rig)).toBe(9);
  });

  it('a judge scores the manual and hybrid rows through the gateway, in a sandbox, and is part of the key', async () => {
    const server = await startModelServer();
    onTestFinished(() => server.close());
    const rig = await scoredRig();
    const judge = join(REPO, 'test/fixtures/judge.mjs');
    const config = (await rig.read('bench.config.mjs')).replace(
      'harnesses: {',
      `harnesses: {\n    j: { command: ['node', ${JSON.stringify(judge)}], versionCommand: ['node', ${JSON.stringify(judge)}, '--version'], gateway: 'anthropic', baseUrl: '${server.url}' },`,
    );
    await rig.write({ 'bench.config.mjs': config });
    const r = await rig.cli(['score', '--judge', 'j', '--judge-model', 'judge-model'], {
      ANTHROPIC_API_KEY: TOKEN,
    });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    // The hybrid row is the judge's whole (1 of 2, not the check's 2), Style its 1: 3 + 2 + 1 + 1, none unscored.
    expect(r.stdout).toMatch(/score {2}b\/w-good-attempt-1 {2}7\/10\n/);
    const good = await sheet(rig, 'w-good-attempt-1');
    // Style (manual) and Tests the answer (hybrid): the judge's half of Max, marked with its model-id.
    expect(good.get('Style')).toMatchObject({ score: '1', evidence: 'attempt/answer.txt' });
    expect(good.get('Style')!.notes).toMatch(/^judge j-judge-model: model said /);
    expect(good.get('Tests the answer')!.score).toBe('1');
    expect(good.get('The answer is good')!.score).toBe('3');
    const json = JSON.parse(await rig.read('benchmarks/b/eval-results/w-good-attempt-1/score.json'));
    expect(json.judge).toMatchObject({
      harness: 'j',
      model: 'judge-model',
      cliVersion: 'judge 1.0.0',
      exitCode: 0,
      problem: null,
    });
    expect(json.preimage.params.judge).toEqual({
      harness: 'j',
      model: 'judge-model',
      cliVersion: 'judge 1.0.0',
    });
    const log = await rig.read('benchmarks/b/eval-results/w-good-attempt-1/judge.log');
    // Its sandbox: the scorecard, the attempt (read-only, but root writes anyway) and the automatic rows; no other attempt.
    expect(log).toContain('sandbox: attempt automatic.csv scorecard.md;');
    expect(log).toMatch(/attempt: answer\.txt context\.md prompt\.md seen\.txt/);
    expect(log).toContain('automatic: 4 rows');
    // Through the gateway: the judge had a capability (the real key would show masked, ***) and the
    // gateway's address; upstream, the gateway put the real key in its place. The attempt is untouched.
    const [, capability, baseUrl] = /key: (\S+); base url: (\S+)/.exec(log) ?? [];
    expect(capability).toMatch(/^(?!\*\*\*)\S{16,}$/);
    expect(baseUrl).not.toBe(server.url);
    expect(server.calls('anthropic-messages').map((c) => c.apiKey)).toEqual([TOKEN, TOKEN]);
    expect(await rig.read('benchmarks/b/eval-attempts/w-good-attempt-1/seen.txt')).not.toContain(
      'automatic.csv',
    );
    expect((await allFiles(join(rig.dir, 'benchmarks'))).filter((f) => f.content.includes(TOKEN))).toEqual(
      [],
    );

    // Judged again only when asked again: the same judge is a hit; without one the score is stale.
    const again = await rig.cli(['score', '--judge', 'j', '--judge-model', 'judge-model'], {
      ANTHROPIC_API_KEY: TOKEN,
    });
    expect(again.stdout).toContain('0 scored, 2 already scored');
    const plan = await rig.cli(['plan', '--harness', 'w', '--score']);
    expect(plan.stdout).toMatch(/w-good-attempt-1\s+stale\s+\w+\s+the judge changed/);

    // A judge that gives no judge.csv: its rows stay unscored, saying why; the checks still count.
    const silent = await rig.cli(['score', '--judge', 'j'], { ANTHROPIC_API_KEY: TOKEN, JUDGE_SILENT: '1' });
    expect(silent.code, silent.stdout + silent.stderr).toBe(0);
    expect(silent.stdout).toContain('score  b/w-good-attempt-1  7/10, 1 row to score by hand');
    expect((await sheet(rig, 'w-good-attempt-1')).get('Style')!.notes).toBe(
      'manual; judge j-default gave no score: wrote no judge.csv',
    );
  });

  it('two concurrent score invocations never collide: each attempt is scored once', async () => {
    const rig = await scoredRig();
    const [a, b] = await Promise.all([rig.cli(['score']), rig.cli(['score'])]);
    expect(a.code, a.stdout + a.stderr).toBe(0);
    expect(b.code, b.stdout + b.stderr).toBe(0);
    expect(await checksRun(rig)).toBe(6);
    expect(await rig.ls('benchmarks/b/eval-results')).toEqual(['w-bad-attempt-1', 'w-good-attempt-1']);
    expect(rig.exists('benchmarks/b/eval-results/.replaced')).toBe(false);
  });
});
