import { mkdir, rename, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { type Diagnostic, errnoCode, formatLocation, InfraError, messageOf, UsageError } from './errors.js';
import type { EventSink } from './events.js';
import { lineHasWork, type Plan } from './plan.js';
import { which } from './probe.js';
import { type StatePaths, uniqueSuffix } from './state.js';
import { TODO_MARKER, todoMarkers } from './validate.js';

/**
 * What must hold before any harness starts, for the benchmarks with work: each harness's token
 * set, and in lite mode its CLI on PATH; eval-attempts/ writable, with an attempt publishable
 * into it by a rename from .pipeline/staging (the same filesystem); the temp dir, where the
 * workspaces go, outside the package. Otherwise an agent would run, and be paid for, only for its
 * attempt to be lost, or would find the package by `..`. A package with `TODO(author)` markers
 * left is run, with a warning.
 */
export async function preflightEnvironment(plan: Plan, emit: EventSink): Promise<void> {
  const missingTokens: Diagnostic[] = [];
  const offline: Diagnostic[] = [];
  const missingClis: string[] = [];
  const unpublishable: string[] = [];
  const exposed: string[] = [];
  for (const bp of plan.benchmarks) {
    const working = bp.lines.filter(lineHasWork);
    if (!working.length) continue;
    const fromPackage = relative(resolve(bp.bench.dir), resolve(tmpdir()));
    if (fromPackage !== '..' && !fromPackage.startsWith(`..${sep}`) && !isAbsolute(fromPackage))
      exposed.push(`${tmpdir()} is inside ${relative(process.cwd(), bp.bench.dir) || '.'}/`);
    for (const line of working) {
      const { adapter } = line;
      const unset = adapter.keyEnvs.filter((name) => !process.env[name]);
      if (unset.length) {
        missingTokens.push({
          location: { file: bp.bench.manifestPath },
          field: `allowed_harnesses (${adapter.name})`,
          message: `${unset.join(', ')} ${unset.length === 1 ? 'is' : 'are'} not set; ${adapter.name} needs ${unset.length === 1 ? 'it' : 'them'}`,
        });
      }
      if (bp.mode === 'docker' && bp.bench.manifest.network === 'model' && !adapter.gateway)
        offline.push({
          location: bp.bench.source.locate(['network']),
          field: 'network',
          message: `model leaves a container no way out but the model gateway, and ${adapter.name} does not go through it (a custom harness without \`gateway\`, or \`gateway: false\`): set network: open, or let it use the gateway`,
        });
      const program = adapter.argv({ model: line.model, prompt: '', args: [] })[0]!;
      if (bp.mode === 'lite' && !(await which(program)))
        missingClis.push(`${program} (${adapter.name}, ${bp.bench.slug})`);
    }
    const replacing = bp.lines.some((l) => l.attempts.some((a) => a.action === 'replace'));
    const problem = await publishProblem(bp.paths, replacing);
    if (problem) unpublishable.push(problem);
    const todos = await todoMarkers(bp.bench);
    if (todos.length) {
      const slug = bp.bench.slug;
      emit({
        type: 'warning',
        message:
          `${slug}: ${todos.length} ${TODO_MARKER} marker${todos.length === 1 ? '' : 's'} left, the first at ` +
          `${formatLocation(todos[0]!.location)}: the package looks unfinished (bench-pipeline validate ${slug} lists them)`,
      });
    }
  }
  if (exposed.length)
    throw new UsageError(
      `the temp dir, where the attempts' workspaces go, must be outside every benchmark package (an agent would reach it by ".."); set TMPDIR elsewhere: ${exposed.join('; ')}`,
    );
  if (offline.length) throw new UsageError('a harness could not reach its model', offline);
  if (missingTokens.length)
    throw new UsageError('a harness token is missing from the environment', missingTokens);
  if (missingClis.length) {
    const program = [...new Set(missingClis)].join(', ');
    throw new InfraError(`harness CLI not found on PATH: ${program}`, {
      reason: 'harness-not-found',
      program,
    });
  }
  if (unpublishable.length) {
    const message = `no attempt could be published: ${unpublishable.join('; ')}`;
    throw new InfraError(message, { reason: 'io', message });
  }
}

/**
 * Publishing an attempt renames its staging directory into eval-attempts/ (and a replaced one
 * into eval-attempts/.replaced/): tries exactly that with an empty directory. Returns what fails.
 */
async function publishProblem(paths: StatePaths, replacing: boolean): Promise<string | undefined> {
  const shown = (p: string) => `${relative(process.cwd(), p) || '.'}/`;
  const notWritable = (dir: string, error: unknown) =>
    `${shown(dir)} is not writable (${errnoCode(error) ?? messageOf(error)})`;
  const probe = `.publish-probe.${uniqueSuffix()}`;
  // Each made first (as run would), then asked to take an entry.
  try {
    await mkdir(paths.attempts, { recursive: true });
    await mkdir(join(paths.attempts, probe));
    await rmdir(join(paths.attempts, probe));
  } catch (error) {
    return notWritable(paths.attempts, error);
  }
  try {
    await mkdir(paths.staging, { recursive: true });
    await mkdir(join(paths.staging, probe));
  } catch (error) {
    return notWritable(paths.staging, error);
  }
  const moves: [from: string, to: string][] = [[paths.staging, paths.attempts]];
  if (replacing) moves.push([paths.attempts, paths.replaced]);
  let at = paths.staging;
  try {
    for (const [from, to] of moves) {
      try {
        await mkdir(to, { recursive: true });
        await rename(join(from, probe), join(to, probe));
      } catch (error) {
        if (errnoCode(error) !== 'EXDEV') return notWritable(to, error);
        return `${shown(to)} is not on the same filesystem as ${shown(from)}, and an attempt is moved there by a rename`;
      }
      at = to;
    }
    return undefined;
  } finally {
    await rmdir(join(at, probe));
  }
}
