import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, normalize, relative } from 'node:path';
import { checkFiles } from './check-files.js';
import type { ResolvedConfig } from './config.js';
import { type Diagnostic, messageOf, UsageError } from './errors.js';
import { type Benchmark, loadBenchmark } from './manifest.js';
import { preflightBenchmark } from './preflight-benchmark.js';
import { criterionProblem, parseScorecard, SCORECARD, type Scorecard } from './scorecard.js';
import { benchmarkSelection } from './selection.js';
import { BASELINE_DIR } from './visible-files.js';

export type Severity = 'error' | 'warning';

/** One located finding of `validate`, with a stable code (see CODES) and a severity. */
export interface Finding extends Diagnostic {
  code: string;
  severity: Severity;
}

/** The checks of `validate` beyond the run preflight, which every code here documents. */
export const CODES: Record<string, { severity: Severity; what: string }> = {
  'scorecard-missing': { severity: 'error', what: 'scorecard.md is missing' },
  'scorecard-table': {
    severity: 'error',
    what: 'scorecard.md has no criteria table (Criterion | Max | Method | Evidence required)',
  },
  'scorecard-method': { severity: 'error', what: 'a criterion whose Method is not auto, manual or hybrid' },
  'scorecard-max': { severity: 'error', what: 'a criterion whose Max is not a positive number of points' },
  'scorecard-criterion': { severity: 'error', what: 'a criterion without a name, or one named twice' },
  'scorecard-csv': {
    severity: 'error',
    what: 'scorecard.md does not give the CSV format Criterion,Score,Max,Notes,Evidence',
  },
  'scorecard-mentioned': { severity: 'error', what: 'a model-visible text mentions the scorecard' },
  'check-criterion-unknown': {
    severity: 'error',
    what: 'a check of scoring.checks names no criterion of the scorecard (a near miss is suggested)',
  },
  'check-criterion-manual': {
    severity: 'error',
    what: 'a check for a manual criterion, which a person or a judge scores, not a check',
  },
  'check-criterion-twice': {
    severity: 'error',
    what: 'a second check for one criterion: a criterion gets one score',
  },
  'check-file-missing': {
    severity: 'error',
    what: "a check's file does not exist, or is neither a file nor a directory",
  },
  'check-file-escapes': {
    severity: 'error',
    what: "a check's file is absolute, leads out of the package, goes through or holds a symlink, or is the tool's own (runner.yaml, runner.lock.yaml, eval-attempts/, eval-results/, .pipeline/)",
  },
  'check-file-visible': {
    severity: 'error',
    what: "a check's file is, holds or lies in a model-visible file: the model would see the hidden tests",
  },
  'criterion-unchecked': {
    severity: 'warning',
    what: 'a package with scoring.checks, but an auto criterion that none of them scores',
  },
  'brownfield-baseline': {
    severity: 'error',
    what: 'brownfield, but baseline/ is not among the visible files',
  },
  'brownfield-manifest': { severity: 'error', what: 'brownfield, but baseline-manifest.md is missing' },
  'baseline-manifest-mismatch': {
    severity: 'error',
    what: 'baseline-manifest.md does not list a visible file, or names another state mode',
  },
  'greenfield-baseline': { severity: 'error', what: 'greenfield, but a baseline is visible' },
  'dockerfile-missing': {
    severity: 'warning',
    what: 'an image for the docker path, but no Dockerfile to build it',
  },
  'context-not-visible': { severity: 'warning', what: 'context.md is not among the visible files' },
  'prompt-follow-up': { severity: 'warning', what: 'prompt.md does not say to ask no follow-up questions' },
  'todo-left': {
    severity: 'warning',
    what: 'a TODO(author) marker that `new` wrote is still there: the package is unfinished',
  },
  'check-failed': {
    severity: 'error',
    what: 'the package could not be checked at all (the error says why); the others still are',
  },
};

const BASELINE_MANIFEST = 'baseline-manifest.md';
/** Texts a model sees that must never point at the grading. */
const MODEL_TEXTS = ['prompt.md', 'context.md', 'bootstrap.md'];

/** The open places `new` leaves for the author, exactly as it writes them. */
export const TODO_MARKER = 'TODO(author)';
/** The files `new` writes markers into (with the benchmark's own prompt_file). */
const AUTHORED = ['prompt.md', 'context.md', SCORECARD, 'bootstrap.md', BASELINE_MANIFEST, 'runner.yaml'];

/**
 * Every finding for the benchmark in `dir`: the run preflight's, then the authoring checks. It
 * never throws: a package that cannot be checked at all is one error finding at its runner.yaml,
 * so that checking every package goes on past a broken one.
 */
export async function validateBenchmark(config: ResolvedConfig, dir: string): Promise<Finding[]> {
  try {
    return await checkBenchmark(config, dir);
  } catch (error) {
    const file = relative(process.cwd(), join(dir, 'runner.yaml')) || 'runner.yaml';
    const message = `could not be checked: ${messageOf(error)}`;
    return [{ location: { file }, message, code: 'check-failed', severity: 'error' }];
  }
}

async function checkBenchmark(config: ResolvedConfig, dir: string): Promise<Finding[]> {
  let bench: Benchmark;
  try {
    bench = await loadBenchmark(dir);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    const found = error.diagnostics.length
      ? error.diagnostics
      : [{ location: { file: join(dir, 'runner.yaml') }, message: error.message, code: 'manifest-missing' }];
    return found.map((d) => ({ ...d, code: d.code ?? 'manifest-schema', severity: 'error' }));
  }
  const { diagnostics } = await preflightBenchmark(config, benchmarkSelection(bench.slug), bench);
  const findings: Finding[] = diagnostics.map((d) => ({
    ...d,
    code: d.code ?? 'preflight',
    severity: 'error',
  }));
  findings.push(...(await authoringFindings(bench)), ...(await todoMarkers(bench)));
  return findings;
}

/** Every `TODO(author)` left in the files `new` writes, each located at its line and column. */
export async function todoMarkers(bench: Benchmark): Promise<Finding[]> {
  const findings: Finding[] = [];
  for (const name of new Set([bench.manifest.prompt_file, ...AUTHORED])) {
    const text = await readFile(join(bench.dir, name), 'utf8').catch(() => undefined);
    for (const [i, line] of (text?.split('\n') ?? []).entries()) {
      for (let at = line.indexOf(TODO_MARKER); at >= 0; at = line.indexOf(TODO_MARKER, at + 1)) {
        findings.push({
          code: 'todo-left',
          severity: CODES['todo-left']!.severity,
          location: {
            file: relative(process.cwd(), join(bench.dir, name)) || name,
            line: i + 1,
            column: at + 1,
          },
          message: `${TODO_MARKER} is still to be filled in`,
        });
      }
    }
  }
  return findings;
}

async function authoringFindings(bench: Benchmark): Promise<Finding[]> {
  const { manifest, source, dir } = bench;
  const findings: Finding[] = [];
  const shown = (name: string) => relative(process.cwd(), join(dir, name)) || name;
  const add = (code: string, location: Diagnostic['location'], message: string, field?: string) =>
    findings.push({ code, severity: CODES[code]!.severity, location, message, ...(field && { field }) });
  const atField = (code: string, path: (string | number)[], message: string) => {
    const d = source.diagnostic(path, message, code);
    add(code, d.location, message, d.field);
  };
  const read = (name: string) => readFile(join(dir, name), 'utf8').catch(() => undefined);
  const visible = manifest.model_visible_files.map((f) => normalize(f).replace(/\/$/, ''));

  // The scorecard: there, with its criteria table, methods and CSV format.
  const text = await read(SCORECARD);
  const card = text === undefined ? undefined : parseScorecard(text, shown(SCORECARD));
  if (card === undefined) add('scorecard-missing', { file: shown(SCORECARD) }, 'there is no scorecard.md');
  else for (const d of card.diagnostics) add(d.code, d.location, d.message);
  findings.push(...(await scoringFindings(bench, card && text !== undefined ? { text, card } : undefined)));

  // What the model reads must not point at the grading.
  for (const name of MODEL_TEXTS.filter((n) => visible.includes(n))) {
    const text = await read(name);
    const lines = text?.split('\n') ?? [];
    for (const [i, line] of lines.entries()) {
      const at = line.search(/scorecard/i);
      if (at >= 0) {
        const where = { file: shown(name), line: i + 1, column: at + 1 };
        add('scorecard-mentioned', where, 'mentions the scorecard, which the model must not know of');
      }
    }
  }

  // The state contract.
  const baselineAt = visible.indexOf(BASELINE_DIR);
  if (manifest.state_mode === 'brownfield') {
    if (baselineAt < 0)
      atField(
        'brownfield-baseline',
        ['model_visible_files'],
        'brownfield needs baseline/ among the visible files',
      );
    const baselineManifest = await read(BASELINE_MANIFEST);
    if (baselineManifest === undefined) {
      add(
        'brownfield-manifest',
        { file: shown(BASELINE_MANIFEST) },
        'brownfield needs a baseline-manifest.md',
      );
    } else {
      if (!/brownfield/i.test(baselineManifest)) {
        add(
          'baseline-manifest-mismatch',
          { file: shown(BASELINE_MANIFEST) },
          'does not name the state mode: brownfield',
        );
      }
      for (const [i, f] of manifest.model_visible_files.entries()) {
        if (!baselineManifest.includes(f.replace(/\/$/, ''))) {
          atField(
            'baseline-manifest-mismatch',
            ['model_visible_files', i],
            `"${f}" is not listed in ${BASELINE_MANIFEST}`,
          );
        }
      }
    }
  } else if (baselineAt >= 0) {
    atField(
      'greenfield-baseline',
      ['model_visible_files', baselineAt],
      'greenfield starts from an empty workspace; use brownfield for a baseline',
    );
  }

  // The docker path, and what a careful author gives the model.
  if (manifest.image && !existsSync(join(dir, 'Dockerfile'))) {
    atField(
      'dockerfile-missing',
      ['image'],
      `no Dockerfile in ${shown('')} to build ${manifest.image} from (or build it elsewhere)`,
    );
  }
  if (!visible.includes('context.md'))
    atField('context-not-visible', ['model_visible_files'], 'context.md is not visible to the model');
  const prompt = await read(manifest.prompt_file);
  if (prompt !== undefined && !/follow[- ]up/i.test(prompt)) {
    add(
      'prompt-follow-up',
      { file: shown(manifest.prompt_file) },
      'say that the model must not ask follow-up questions',
    );
  }
  return findings;
}

/**
 * The checks of `scoring.checks`: each for a criterion of the scorecard that is not manual, one
 * check a criterion, and its files evaluator-only and inside the package; and, when there are
 * checks, every auto criterion scored by one. Without a criteria table (the scorecard's own
 * findings say so) only the files are checked.
 */
async function scoringFindings(
  bench: Benchmark,
  scorecard: { text: string; card: Scorecard } | undefined,
): Promise<Finding[]> {
  const findings: Finding[] = [];
  const located = (d: Diagnostic & { code: string }) =>
    findings.push({ ...d, severity: CODES[d.code]!.severity });
  const atCriterion = (code: string, i: number, message: string) =>
    located({ ...bench.source.diagnostic(['scoring', 'checks', i, 'criterion'], message, code), code });
  const criteria = scorecard?.card.diagnostics.some((d) => d.code === 'scorecard-table')
    ? undefined
    : scorecard?.card.criteria;
  // Rows the scorecard's findings refuse are not criteria; an unknown name may be one of them.
  const rowsLeftOut = scorecard?.card.diagnostics.some((d) => d.location.line !== undefined) ?? false;
  const checked = new Map<string, number>();

  for (const [i, check] of bench.manifest.scoring.checks.entries()) {
    if (criteria) {
      const problem = criterionProblem(check.criterion, criteria, checked, rowsLeftOut);
      if (problem) atCriterion(problem.code, i, problem.message);
      else checked.set(check.criterion, i);
    }
    for (const d of (await checkFiles(bench, check, i)).diagnostics) located(d);
  }

  // Once a package has checks, an auto criterion without one is most likely forgotten; a hybrid
  // one may be scored by hand. A package without any (an unfinished one, as `new` writes it, or
  // one scored by hand throughout) is not warned of each of its criteria.
  if (!bench.manifest.scoring.checks.length) return findings;
  const lines = scorecard?.text.split('\n') ?? [];
  const file = relative(process.cwd(), join(bench.dir, SCORECARD)) || SCORECARD;
  for (const c of criteria ?? []) {
    if (c.method !== 'auto' || checked.has(c.name)) continue;
    const row = lines[c.line - 1] ?? '';
    const at = row.indexOf(c.name);
    findings.push({
      code: 'criterion-unchecked',
      severity: CODES['criterion-unchecked']!.severity,
      location: { file, line: c.line, column: at >= 0 ? at + 1 : row.search(/[^\s|]/) + 1 },
      message: `auto criterion "${c.name}" has no check in runner.yaml's scoring.checks; add one, or make its Method hybrid or manual`,
    });
  }
  return findings;
}
