import type { Diagnostic } from '../pipeline/errors.js';
import { type Criterion, SCORE_COLUMNS } from '../pipeline/scorecard.js';

/**
 * An attempt's score sheet: one row per scorecard criterion, in table order, as score.csv holds
 * it (`Criterion,Score,Max,Notes,Evidence`). Pure functions: what a check's result gives, the
 * CSV both ways, and the merge of a person's manual.csv.
 */

export interface ScoreRow {
  criterion: string;
  /** null: not scored (a manual criterion no one has scored yet). */
  score: number | null;
  max: number;
  notes: string;
  evidence: string;
}

/** What one check gave: its criterion's points, and the notes its output makes. */
export interface CheckScore {
  score: number;
  /** How the score came about, in a few words: `exit 0`, `exit 1`, `SCORE 2/3`, `timed out after 10m`. */
  how: string;
}

const SCORE_LINE = /^SCORE\s+(\d+(?:\.\d+)?)(?:\s*\/\s*(\d+(?:\.\d+)?))?\s*$/;

/**
 * A check's points out of `max`: a last output line `SCORE <n>` gives n, `SCORE <n>/<d>` gives
 * n/d of max, either clipped to [0, max]; else exit 0 gives max and anything else 0. A check that
 * timed out or was killed scores 0 whatever it printed.
 */
export function checkScore(
  ran: { exitCode: number | null; signal: string | null; timedOut: boolean; lastLine: string },
  max: number,
  timeout: string,
): CheckScore {
  if (ran.timedOut) return { score: 0, how: `timed out after ${timeout}` };
  if (ran.exitCode === null) return { score: 0, how: `killed by ${ran.signal ?? 'a signal'}` };
  const line = SCORE_LINE.exec(ran.lastLine.trim());
  if (line) {
    const [n, d] = [Number(line[1]), line[2] === undefined ? undefined : Number(line[2])];
    const raw = d === undefined ? n : d > 0 ? (n / d) * max : 0;
    const score = Math.round(Math.min(max, Math.max(0, raw)) * 100) / 100;
    return { score, how: `${line[0].trim()}, exit ${ran.exitCode}` };
  }
  return { score: ran.exitCode === 0 ? max : 0, how: `exit ${ran.exitCode}` };
}

/** Whether a line of a check's output is its SCORE line (left out of the notes). */
export const isScoreLine = (line: string) => SCORE_LINE.test(line.trim());

/** score.csv's text: the header, then one row per criterion. */
export function renderScoreCsv(rows: readonly ScoreRow[]): string {
  const lines = [SCORE_COLUMNS.join(',')];
  for (const r of rows)
    lines.push(
      [r.criterion, r.score === null ? '' : `${r.score}`, `${r.max}`, r.notes, r.evidence]
        .map(csvCell)
        .join(','),
    );
  return `${lines.join('\n')}\n`;
}

export function csvCell(value: string): string {
  return /[",\n\r]/.test(value) || value !== value.trim() ? `"${value.replace(/"/g, '""')}"` : value;
}

/** The records of a CSV text (RFC 4180: quoted cells may hold commas, quotes and newlines), each with its line. */
export function parseCsv(
  text: string,
): { cells: string[]; line: number }[] | { problem: string; line: number } {
  const records: { cells: string[]; line: number }[] = [];
  let cells: string[] = [];
  let cell = '';
  let line = 1;
  let start = 1;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else {
        if (c === '\n') line++;
        cell += c;
      }
    } else if (c === '"' && cell === '') quoted = true;
    else if (c === ',') {
      cells.push(cell);
      cell = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      cells.push(cell);
      if (cells.length > 1 || cells[0] !== '') records.push({ cells, line: start });
      cells = [];
      cell = '';
      line++;
      start = line;
    } else cell += c;
  }
  if (quoted) return { problem: 'a quoted cell is not closed', line: start };
  cells.push(cell);
  if (cells.length > 1 || cells[0] !== '') records.push({ cells, line: start });
  return records;
}

/**
 * A person's scores (eval-results/<attempt>/manual.csv, in score.csv's columns) for the manual
 * and hybrid criteria: by criterion, or the diagnostics of what is wrong with it, each located.
 * A row for an automatic criterion, one for no criterion of the scorecard, or a Score that is
 * not a number in [0, Max] is an error.
 */
export function parseManualCsv(
  text: string,
  file: string,
  criteria: readonly Criterion[],
): { rows: Map<string, ScoreRow> } | { diagnostics: Diagnostic[] } {
  const records = parseCsv(text);
  if (!Array.isArray(records))
    return { diagnostics: [{ location: { file, line: records.line }, message: records.problem }] };
  const diagnostics: Diagnostic[] = [];
  const [head, ...body] = records;
  if (!head || head.cells.join(',') !== SCORE_COLUMNS.join(',')) {
    const message = `the first line must be the header ${SCORE_COLUMNS.join(',')}`;
    return { diagnostics: [{ location: { file, line: head?.line ?? 1 }, message }] };
  }
  const byName = new Map(criteria.map((c) => [c.name, c]));
  const rows = new Map<string, ScoreRow>();
  for (const { cells, line } of body) {
    const [name = '', score = '', , notes = '', evidence = ''] = cells;
    const at = { file, line };
    const criterion = byName.get(name);
    if (cells.length !== SCORE_COLUMNS.length)
      diagnostics.push({ location: at, message: `${cells.length} cells; a row has ${SCORE_COLUMNS.length}` });
    else if (!criterion)
      diagnostics.push({ location: at, message: `"${name}" is no criterion of the scorecard` });
    else if (criterion.method === 'auto')
      diagnostics.push({
        location: at,
        message: `"${name}" is scored by its check (Method auto), not by hand`,
      });
    else if (rows.has(name)) diagnostics.push({ location: at, message: `"${name}" is scored twice` });
    else if (score.trim() === '') continue;
    else if (!/^\d+(\.\d+)?$/.test(score.trim()) || Number(score) > criterion.max)
      diagnostics.push({
        location: at,
        message: `Score "${score}" must be a number from 0 to ${criterion.max}`,
      });
    else rows.set(name, { criterion: name, score: Number(score), max: criterion.max, notes, evidence });
  }
  return diagnostics.length ? { diagnostics } : { rows };
}
