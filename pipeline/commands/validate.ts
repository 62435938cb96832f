import { join } from 'node:path';
import { namedOrAllBenchmarks } from '../benchmarks.js';
import { loadConfig } from '../config.js';
import { formatDiagnostic } from '../errors.js';
import { type Finding, validateBenchmark } from '../validate.js';
import type { ParsedArgs } from './options.js';

/**
 * `validate [benchmark...]`: every check of the run preflight and of a careful final review, each
 * finding located (`file:line:col`) with a stable code and a severity. Exit 2 on any error.
 */
export async function validateCommand({ values, positionals }: ParsedArgs<'validate'>): Promise<number> {
  const config = await loadConfig(values.config);
  const slugs = await namedOrAllBenchmarks(config, positionals);
  const results: { benchmark: string; findings: Finding[] }[] = [];
  for (const slug of slugs) {
    results.push({
      benchmark: slug,
      findings: await validateBenchmark(config, join(config.benchmarksDir, slug)),
    });
  }
  const all = results.flatMap((r) => r.findings);
  const errors = all.filter((f) => f.severity === 'error').length;
  if (values.json) {
    process.stdout.write(
      `${JSON.stringify({ benchmarks: results, errors, warnings: all.length - errors }, null, 2)}\n`,
    );
  } else {
    const out = results.map((r) =>
      r.findings.length
        ? r.findings
            .map((f) => `${formatDiagnostic({ ...f, message: `${f.severity} ${f.code}: ${f.message}` })}`)
            .join('\n')
        : `${r.benchmark}: ok`,
    );
    out.push(
      `${results.length} benchmark${results.length === 1 ? '' : 's'}: ${errors} errors, ${all.length - errors} warnings`,
    );
    process.stdout.write(`${out.join('\n')}\n`);
  }
  return errors ? 2 : 0;
}
