import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCsv } from '../tasks/score-sheet.js';
import { docker, dockerBenchmark, engineUp, IMAGE, imageContext } from './helpers/docker.js';
import { makeRig, waitFor } from './helpers/rig.js';

const SCORECARD = `| Criterion | Max | Method | Evidence required |
| --- | --- | --- | --- |
| In the attempt's image | 2 | auto | run-attempt is there |
| Cut off | 1 | auto | only loopback |

Output format: Criterion,Score,Max,Notes,Evidence
`;

/** The checks: each sleeps a little, so that its container can be looked at while it runs. */
const SCORING = `
scoring:
  checks:
    - criterion: In the attempt's image
      run: sleep 1; test -x /usr/local/bin/run-attempt && test -f out.txt && test -f hidden/x.txt && test ! -e /var/run/docker.sock && pwd
      files: [hidden/]
    - criterion: Cut off
      run: sleep 1; cat /proc/net/dev; test "$(grep -c ':' /proc/net/dev)" = 1
`;

const scoreCheckContainers = () =>
  docker('ps', '-a', '-q', '--filter', 'label=dev.bench-pipeline=score-check').split('\n').filter(Boolean);

describe.skipIf(!engineUp)('score, docker mode, real engine', () => {
  let contextDir = '';

  beforeAll(async () => {
    contextDir = await mkdtemp(join(tmpdir(), 'bp-image-'));
    imageContext(contextDir);
    docker('build', '-q', '-t', IMAGE, contextDir);
  }, 120_000);

  afterAll(async () => {
    await rm(contextDir, { recursive: true, force: true });
  });

  it('scores each check in a new container from the attempt digest, with no network, removed after', async () => {
    const files: Record<string, string> = dockerBenchmark('d', IMAGE);
    const rig = await makeRig({
      ...files,
      'benchmarks/d/runner.yaml': files['benchmarks/d/runner.yaml'] + SCORING,
      'benchmarks/d/scorecard.md': SCORECARD,
      'benchmarks/d/hidden/x.txt': 'hidden\n',
    });
    const run = await rig.cli(['run', '--harness', 't', '--attempts', '1', '--model', 'm1']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const log = JSON.parse(await rig.read('benchmarks/d/eval-attempts/t-m1-attempt-1/run-log.json'));

    const scoring = rig.spawnCli(['score']);
    await waitFor(() => scoreCheckContainers().length > 0, 30_000, 'a check container');
    const [id] = scoreCheckContainers();
    const inspect = JSON.parse(docker('inspect', id!))[0];
    expect(inspect.Image).toBe(log.imageDigest);
    expect(inspect.HostConfig.NetworkMode).toBe('none');
    expect(inspect.Mounts.map((m: { Destination: string }) => m.Destination)).toEqual(['/workspace']);
    expect(inspect.Config.Labels['dev.bench-pipeline.attempt']).toBe('t-m1-attempt-1');
    const r = await scoring.done;
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('score  d/t-m1-attempt-1  3/3');
    expect(scoreCheckContainers()).toEqual([]);

    const sheet = parseCsv(await rig.read('benchmarks/d/eval-results/t-m1-attempt-1/score.csv'));
    if (!Array.isArray(sheet)) throw new Error(sheet.problem);
    expect(sheet.slice(1).map((r) => r.cells.slice(0, 3))).toEqual([
      ["In the attempt's image", '2', '2'],
      ['Cut off', '1', '1'],
    ]);
    expect(sheet[1]!.cells[3]).toBe('exit 0: /workspace');
    const json = JSON.parse(await rig.read('benchmarks/d/eval-results/t-m1-attempt-1/score.json'));
    expect(json.preimage.params).toMatchObject({ mode: 'docker', imageDigest: log.imageDigest });
  });
});
