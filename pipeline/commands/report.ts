import { dirname, resolve } from 'node:path';
import { loadConfig } from '../config.js';
import { UsageError } from '../errors.js';
import { writeFileAtomic } from '../fs-atomic.js';
import { configRedactor } from '../harness-env.js';
import { VersionProbe } from '../probe.js';
import { buildReport } from '../report.js';
import { renderCsv, renderJson, renderTable } from '../report-text.js';
import type { ParsedArgs } from './options.js';

const FORMATS = ['table', 'csv', 'json', 'html'] as const;

/**
 * `report`: the comparison of what is on disk, per benchmark and model-id, and of variants
 * paired. Runs nothing. Printed, or written to --out by one rename; every byte passes the
 * redactor. Exit 0, or 2 on a usage error.
 */
export async function reportCommand({ values, positionals }: ParsedArgs<'report'>): Promise<number> {
  const format = values.format ?? (values.out?.endsWith('.html') ? 'html' : 'table');
  if (!(FORMATS as readonly string[]).includes(format))
    throw new UsageError(`--format ${format}: must be one of ${FORMATS.join(', ')}`);
  const config = await loadConfig(values.config);
  const out = values.out === undefined ? undefined : resolve(values.out);
  const report = await buildReport(config, {
    benchmarks: positionals,
    harness: values.harness,
    model: values.model,
    variant: values.variant,
    includeStale: values['include-stale'] ?? false,
    base: out ? dirname(out) : process.cwd(),
    probe: await new VersionProbe().load(),
  });
  const attempts = values.attempts ?? false;
  const text =
    format === 'html'
      ? (await import('../report-html.js')).renderHtml(report)
      : format === 'csv'
        ? renderCsv(report, attempts)
        : format === 'json'
          ? renderJson(report, attempts)
          : renderTable(report, !out && Boolean(process.stdout.isTTY) && !process.env.NO_COLOR);
  const safe = configRedactor(config).redact(text);
  if (out) {
    await writeFileAtomic(out, safe);
    process.stderr.write(`report: ${values.out}\n`);
  } else process.stdout.write(safe);
  return 0;
}
