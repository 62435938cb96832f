import type { Diagnostic } from './errors.js';

/** `scorecard.md`: evaluator-only, the criteria an attempt is scored on. */
export const SCORECARD = 'scorecard.md';

/** The columns of a score, in this order, as every scorecard states them. */
export const SCORE_COLUMNS = ['Criterion', 'Score', 'Max', 'Notes', 'Evidence'] as const;

export type Method = 'auto' | 'manual' | 'hybrid';

/** One row of the criteria table. */
export interface Criterion {
  /** The Criterion cell as written (Markdown included): checks and score rows name it so. */
  name: string;
  max: number;
  method: Method;
  /** The row's line in scorecard.md, from 1. */
  line: number;
}

export interface Scorecard {
  /** In table order; empty when there is no table. */
  criteria: Criterion[];
  /** Where the file falls short of the format, each with the code `validate` reports. */
  diagnostics: (Diagnostic & { code: string })[];
}

const METHODS: readonly string[] = ['auto', 'manual', 'hybrid'];

/**
 * The criteria table of a scorecard's text: the first Markdown table whose header has Criterion,
 * Max, Method and Evidence columns. `file` is the path messages name. Rows of another Method, or
 * whose Max is not a number of points, are reported and left out.
 */
export function parseScorecard(text: string, file: string): Scorecard {
  const lines = text.split('\n');
  const diagnostics: Scorecard['diagnostics'] = [];
  const header = lines.findIndex((l) => /^\s*\|.*criterion.*\|.*max.*\|.*method.*\|.*evidence/i.test(l));
  if (header < 0) {
    diagnostics.push({
      location: { file },
      message: 'no criteria table: | Criterion | Max | Method | Evidence required |',
      code: 'scorecard-table',
    });
    return { criteria: [], diagnostics };
  }
  const heads = cells(lines[header]!).map((c) => c.toLowerCase());
  const column = (name: string) => heads.findIndex((c) => c.startsWith(name));
  const [nameAt, maxAt, methodAt] = [column('criterion'), column('max'), column('method')];
  const criteria: Criterion[] = [];
  const seen = new Set<string>();
  for (let i = header + 2; i < lines.length && lines[i]!.trim().startsWith('|'); i++) {
    const row = cells(lines[i]!);
    const at = (value: string) => ({ file, line: i + 1, column: lines[i]!.indexOf(value) + 1 });
    const [name, max, method] = [row[nameAt] ?? '', row[maxAt] ?? '', row[methodAt] ?? ''];
    if (!METHODS.includes(method.toLowerCase())) {
      diagnostics.push({
        location: at(method),
        message: `Method "${method}" must be auto, manual or hybrid`,
        code: 'scorecard-method',
      });
      continue;
    }
    const points = /^\d+(\.\d+)?$/.test(max) ? Number(max) : Number.NaN;
    if (!(points > 0)) {
      diagnostics.push({
        location: at(max),
        message: `Max "${max}" must be a positive number of points`,
        code: 'scorecard-max',
      });
      continue;
    }
    if (!name || seen.has(name)) {
      const message = name ? `criterion "${name}" is in the table twice` : 'a criterion without a name';
      diagnostics.push({ location: at(name), message, code: 'scorecard-criterion' });
      continue;
    }
    seen.add(name);
    criteria.push({ name, max: points, method: method.toLowerCase() as Method, line: i + 1 });
  }
  if (!text.includes(SCORE_COLUMNS.join(','))) {
    diagnostics.push({
      location: { file },
      message: `give the CSV format: ${SCORE_COLUMNS.join(',')}`,
      code: 'scorecard-csv',
    });
  }
  return { criteria, diagnostics };
}

/** The cells of a Markdown table row, trimmed; an escaped `\|` stays inside its cell. */
function cells(line: string): string[] {
  return line
    .trim()
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split(/(?<!\\)\|/)
    .map((c) => c.trim().replace(/\\\|/g, '|'));
}

/** Why a check may not score the criterion it names, given the checks before it (`checked`). */
export function criterionProblem(
  name: string,
  criteria: readonly Criterion[],
  checked: ReadonlyMap<string, number>,
  rowsLeftOut: boolean,
): { code: string; message: string } | undefined {
  const criterion = criteria.find((c) => c.name === name);
  if (!criterion)
    return { code: 'check-criterion-unknown', message: unknownCriterion(name, criteria, rowsLeftOut) };
  if (criterion.method === 'manual') {
    return {
      code: 'check-criterion-manual',
      message: `"${name}" is manual (${SCORECARD} line ${criterion.line}): a person or a judge scores it, not a check; make it auto or hybrid, or drop the check`,
    };
  }
  const first = checked.get(name);
  if (first === undefined) return undefined;
  return {
    code: 'check-criterion-twice',
    message: `"${name}" is already scored by scoring.checks[${first}]; a criterion gets one score`,
  };
}

/** Says which criteria there are (abbreviated when long), and the one meant when it is a near miss. */
function unknownCriterion(name: string, criteria: readonly Criterion[], rowsLeftOut: boolean): string {
  const near = nearMiss(name, criteria);
  const shown = criteria
    .slice(0, 6)
    .map((c) => `"${c.name.length > 40 ? `${c.name.slice(0, 39)}…` : c.name}"`);
  if (criteria.length > shown.length) shown.push(`${criteria.length - shown.length} more`);
  const meant = near ? ` (did you mean "${near.name}"?)` : '';
  const leftOut = rowsLeftOut ? ' (rows with errors left out)' : '';
  return `no criterion "${name}" in ${SCORECARD}${meant}; its criteria: ${shown.join(', ') || 'none'}${leftOut}`;
}

/**
 * The criterion a name most likely means: one equal but for case, spacing and Markdown marks
 * (backticks, emphasis), else the closest within a few typing slips.
 */
function nearMiss(name: string, criteria: readonly Criterion[]): Criterion | undefined {
  const loose = (s: string) => s.replace(/[`*_]/g, '').replace(/\s+/g, ' ').trim().toLowerCase();
  const wanted = loose(name);
  const same = criteria.find((c) => loose(c.name) === wanted);
  if (same) return same;
  let best: { c: Criterion; d: number } | undefined;
  for (const c of criteria) {
    const d = editDistance(loose(c.name), wanted);
    if (d <= Math.max(1, Math.floor(wanted.length / 8)) && (!best || d < best.d)) best = { c, d };
  }
  return best?.c;
}

/** Levenshtein distance: insertions, deletions and substitutions of one character each. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitute = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      row.push(Math.min(substitute, previous[j]! + 1, row[j - 1]! + 1));
    }
    previous = row;
  }
  return previous[b.length]!;
}
