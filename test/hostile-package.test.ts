import { link, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { benchmarkFiles, makeRig, type Rig } from './helpers/rig.js';

/** A brownfield benchmark `b` whose baseline holds `files` (paths inside baseline/). */
function brownfield(files: Record<string, string> = {}, visible = '\n  - prompt.md\n  - baseline') {
  return {
    ...benchmarkFiles('b', { state_mode: 'brownfield', model_visible_files: visible }),
    'benchmarks/b/baseline-manifest.md': 'baseline: baseline/\n',
    'benchmarks/b/baseline/README.md': '# app\n',
    ...Object.fromEntries(Object.entries(files).map(([p, c]) => [`benchmarks/b/baseline/${p}`, c])),
  };
}

/** `validate` and `run` both refuse with exit 2, start no harness and write no attempt; their output. */
async function refusedByBoth(rig: Rig): Promise<{ validate: string; run: string }> {
  const v = await rig.cli(['validate', 'b']);
  expect(v.code, v.stdout + v.stderr).toBe(2);
  const r = await rig.cli(['run', 'b', '--harness', 't', '--attempts', '1']);
  expect(r.code, r.stdout + r.stderr).toBe(2);
  expect(await rig.invocations()).toBe(0);
  expect((await rig.ls('benchmarks/b/eval-attempts')).filter((n) => n.includes('-attempt-'))).toEqual([]);
  return { validate: v.stdout, run: r.stderr };
}

describe('links and entries that would show an attempt the package itself', () => {
  it('refuses a visible symlink to the package root', async () => {
    const rig = await makeRig(benchmarkFiles('b', { model_visible_files: '\n  - prompt.md\n  - docs' }));
    await symlink('.', join(rig.dir, 'benchmarks/b/docs'));
    const out = await refusedByBoth(rig);
    for (const text of [out.validate, out.run]) {
      expect(text).toMatch(
        /runner\.yaml:\d+:\d+: model_visible_files\[1\]: .*"docs" leads to the benchmark itself/,
      );
    }
    expect(out.validate).toContain('error visible-forbidden');
  });

  it('refuses a link to the package root deep inside the baseline, naming it', async () => {
    const rig = await makeRig(brownfield({ 'src/app.js': 'x\n' }));
    await symlink('../..', join(rig.dir, 'benchmarks/b/baseline/src/up'));
    const out = await refusedByBoth(rig);
    for (const text of [out.validate, out.run]) {
      expect(text).toMatch(/model_visible_files\[1\]: .*"baseline" contains a symlink that .*: src\/up/);
      expect(text).toContain('leads to the benchmark itself');
    }
  });

  it('refuses a link to an ancestor of a visible entry, which would show its unlisted siblings', async () => {
    const rig = await makeRig({
      ...benchmarkFiles('b', { model_visible_files: '\n  - prompt.md\n  - docs/public' }),
      'benchmarks/b/docs/public/a.md': 'a\n',
      'benchmarks/b/docs/private.md': 'not visible\n',
    });
    await symlink('..', join(rig.dir, 'benchmarks/b/docs/public/up'));
    const out = await refusedByBoth(rig);
    expect(out.validate).toMatch(/"docs\/public" contains a symlink that .*ancestor.*: up/);
  });

  it('refuses a link that loops back into the directory being walked', async () => {
    const rig = await makeRig(brownfield({ 'src/app.js': 'x\n' }));
    await symlink('.', join(rig.dir, 'benchmarks/b/baseline/src/self'));
    const out = await refusedByBoth(rig);
    expect(out.validate).toMatch(/"baseline" contains a symlink that .*ancestor.*: src\/self/);
  });

  for (const entry of ['./', '.', 'baseline/..']) {
    it(`refuses the entry "${entry}", the whole benchmark, as a located diagnostic`, async () => {
      const rig = await makeRig(
        benchmarkFiles('b', { model_visible_files: `\n  - prompt.md\n  - "${entry}"` }),
      );
      const out = await refusedByBoth(rig);
      expect(out.run).toContain(`model_visible_files[1]: "${entry}" is the whole benchmark`);
      expect(out.run).not.toContain('EEXIST');
    });
  }

  for (const name of ['scorecard.md', 'eval-results/r.csv', 'eval-attempts/x/run-log.json', 'Scorecard.md']) {
    it(`refuses a baseline that itself holds ${name}`, async () => {
      const rig = await makeRig(brownfield({ [name]: 'x\n' }));
      const out = await refusedByBoth(rig);
      const top = name.split('/')[0]!;
      expect(out.validate).toContain(`"baseline" contains ${top}`);
      expect(out.validate).toContain('error visible-forbidden');
    });
  }

  it('refuses a hard link to the scorecard anywhere among the visible files', async () => {
    const rig = await makeRig(brownfield({ 'src/app.js': 'x\n' }));
    await link(
      join(rig.dir, 'benchmarks/b/scorecard.md'),
      join(rig.dir, 'benchmarks/b/baseline/src/notes.md'),
    );
    const out = await refusedByBoth(rig);
    expect(out.validate).toMatch(/"baseline" contains a hard link to scorecard\.md: src\/notes\.md/);
  });
});

describe('every visible entry is seeded or refused', () => {
  it('names with a newline, a carriage return or U+2028 reach the workspace, directories with their contents', async () => {
    const odd = ['new\nline.txt', 'carriage\rreturn/inner.txt', 'sep\u2028arator.txt'];
    const rig = await makeRig(brownfield(Object.fromEntries(odd.map((p) => [p, `${p}\n`]))));
    const r = await rig.cli(['run', 'b', '--harness', 't', '--attempts', '1']);
    expect(r.code, r.stderr).toBe(0);
    const log = JSON.parse(await rig.read('benchmarks/b/eval-attempts/t-default-attempt-1/run-log.json'));
    expect(log.baselineSource).toMatch(/\(4 files\)$/);
    // The workspace the harness was given (moved into the attempt) and the template it came from.
    const [seed] = (await rig.ls('benchmarks/b/.pipeline/seeds')).filter((n) => !n.startsWith('.'));
    try {
      for (const p of odd) {
        expect(await rig.read(`benchmarks/b/eval-attempts/t-default-attempt-1/${p}`)).toBe(`${p}\n`);
        expect(await rig.read(`benchmarks/b/.pipeline/seeds/${seed}/tree/${p}`)).toBe(`${p}\n`);
      }
    } finally {
      await rm(`${log.workspace.path}.home`, { recursive: true, force: true });
    }
  });
});

describe('visible files: names that are no paths', () => {
  it('a NUL byte in model_visible_files is a located schema error, for run and validate', async () => {
    const rig = await makeRig(
      benchmarkFiles('b', { model_visible_files: '\n  - prompt.md\n  - "con\\0text.md"' }),
    );
    const out = await refusedByBoth(rig);
    for (const text of [out.validate, out.run])
      expect(text).toContain('runner.yaml:8:5: model_visible_files[1]: ');
    expect(out.run).toContain('contains a NUL byte');
    expect(out.run).not.toContain('ERR_INVALID_ARG');
  });

  it('a baseline name that is not valid UTF-8 is refused, saying why', async () => {
    const rig = await makeRig(brownfield());
    const { writeFileSync } = await import('node:fs');
    writeFileSync(
      Buffer.concat([Buffer.from(join(rig.dir, 'benchmarks/b/baseline/bad')), Buffer.from([0xff])]),
      'x',
    );
    const out = await refusedByBoth(rig);
    expect(out.validate).toMatch(/"baseline" contains a name that is not valid UTF-8.*: bad\uFFFD/);
    expect(out.validate).toContain('error visible-name');
  });

  it('a visible entry that is a symlink loop is refused, not a crash', async () => {
    const rig = await makeRig(benchmarkFiles('b', { model_visible_files: '\n  - prompt.md\n  - loop' }));
    await symlink('loop', join(rig.dir, 'benchmarks/b/loop'));
    const out = await refusedByBoth(rig);
    expect(out.run).toContain('model_visible_files[1]: "loop" is a symlink loop');
  });
});

describe('validate checks every package, past a broken one', () => {
  const bomb = [
    'name: bomb',
    'a: &a [x, x, x, x, x, x, x, x, x, x]',
    ...Array.from(
      { length: 8 },
      (_, i) =>
        `b${i}: &b${i} [${Array(10)
          .fill(i ? `*b${i - 1}` : '*a')
          .join(', ')}]`,
    ),
    '',
  ].join('\n');

  it('an alias bomb in runner.yaml is a located syntax error, for run and validate', async () => {
    const rig = await makeRig({ ...benchmarkFiles('bomb'), 'benchmarks/bomb/runner.yaml': bomb });
    const r = await rig.cli(['run', 'bomb', '--harness', 't']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/benchmarks\/bomb\/runner\.yaml:3:\d+: its aliases expand too far/);
  });

  it('reports each broken package located, and goes on with the others', async () => {
    const rig = await makeRig({
      ...benchmarkFiles('a-bomb'),
      'benchmarks/a-bomb/runner.yaml': bomb.replace('name: bomb', 'name: a-bomb'),
      ...benchmarkFiles('b-unreadable'),
      ...benchmarkFiles('c-good'),
    });
    const { rm, mkdir } = await import('node:fs/promises');
    // runner.yaml that is a directory: reading it fails with an error no check expects.
    await rm(join(rig.dir, 'benchmarks/b-unreadable/runner.yaml'));
    await mkdir(join(rig.dir, 'benchmarks/b-unreadable/runner.yaml'));
    const r = await rig.cli(['validate', '--json']);
    expect(r.code, r.stderr).toBe(2);
    const { benchmarks } = JSON.parse(r.stdout) as {
      benchmarks: {
        benchmark: string;
        findings: { code: string; location: { file: string; line?: number } }[];
      }[];
    };
    expect(benchmarks.map((b) => b.benchmark)).toEqual(['a-bomb', 'b-unreadable', 'c-good']);
    const [bombed, unreadable, good] = benchmarks.map((b) => b.findings);
    expect(bombed).toEqual([
      expect.objectContaining({ code: 'manifest-syntax', location: expect.objectContaining({ line: 3 }) }),
    ]);
    expect(unreadable).toEqual([
      expect.objectContaining({
        code: 'check-failed',
        location: { file: 'benchmarks/b-unreadable/runner.yaml' },
      }),
    ]);
    // The good one was checked too: its findings are its own (a scorecard without a table, say).
    expect(good!.map((f) => f.code)).toContain('scorecard-table');
    const plain = await rig.cli(['validate']);
    expect(plain.stdout).toContain(
      'benchmarks/b-unreadable/runner.yaml: error check-failed: could not be checked: EISDIR',
    );
    expect(plain.stdout).toContain('3 benchmarks: ');
  });
});

describe('an unfinished package', () => {
  it('validate warns at each TODO(author) that `new` left; run warns and still runs', async () => {
    const rig = await makeRig();
    expect((await rig.cli(['new', 'pkg', '--harness', 't', '--path', 'lite', '--bootstrap'])).code).toBe(0);
    const r = await rig.cli(['validate', 'pkg', '--json']);
    expect(r.code, r.stdout).toBe(0);
    const { benchmarks, errors, warnings } = JSON.parse(r.stdout);
    const todos = benchmarks[0].findings.filter((f: { code: string }) => f.code === 'todo-left');
    expect(errors).toBe(0);
    expect(warnings).toBe(todos.length);
    const files = new Set(todos.map((f: { location: { file: string } }) => f.location.file));
    for (const f of ['prompt.md', 'context.md', 'scorecard.md', 'bootstrap.md'])
      expect(files, f).toContain(`benchmarks/pkg/${f}`);
    // Each is located where the marker is.
    for (const f of todos) {
      const line = (await rig.read(f.location.file)).split('\n')[f.location.line - 1];
      expect(line!.slice(f.location.column - 1)).toMatch(/^TODO\(author\)/);
      expect(f.severity).toBe('warning');
    }

    const run = await rig.cli(['run', 'pkg', '--harness', 't', '--attempts', '1']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(
      new RegExp(
        `warn   pkg: ${todos.length} TODO\\(author\\) markers left, the first at benchmarks/pkg/\\S+:\\d+:\\d+`,
      ),
    );
    expect(run.stdout.indexOf('warn   pkg')).toBeLessThan(run.stdout.indexOf('run '));
    expect(await rig.invocations()).toBe(1);
  });

  it('only the marker counts: TODO_FILE and a plain TODO are the task, not unfinished work', async () => {
    const rig = await makeRig({
      ...benchmarkFiles('b'),
      'benchmarks/b/context.md':
        'Read the list from `TODO_FILE`.\nTODO: a word the task uses.\nTODO (author) spaced\n',
    });
    const r = await rig.cli(['validate', 'b', '--json']);
    const codes = JSON.parse(r.stdout).benchmarks[0].findings.map((f: { code: string }) => f.code);
    expect(codes).not.toContain('todo-left');
  });
});
