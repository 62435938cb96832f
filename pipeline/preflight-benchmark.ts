import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { HarnessAdapter } from '../tasks/harnesses/adapter.js';
import { harnessAdapter, knownHarnesses } from '../tasks/harnesses/registry.js';
import { lineIdentity, MAX_MODEL_ID_BYTES, modelId } from './attempts.js';
import type { ResolvedConfig, VariantConfig } from './config.js';
import type { Diagnostic } from './errors.js';
import type { Benchmark } from './manifest.js';
import type { ModelSource, Selection } from './selection.js';
import { scanVisibleFiles } from './visible-files.js';

/** A harness x model x variant the selection asks for, as resolved: the start of a plan's line. */
export interface ResolvedLine {
  adapter: HarnessAdapter;
  model: string | undefined;
  modelSource: ModelSource;
  variant: { name: string; config: VariantConfig } | undefined;
  modelId: string;
}

/**
 * The checks that stop a run before anything happens (also `validate`'s): harnesses known and
 * allowed, models resolved, visible files inside the benchmark and not forbidden, the prompt, the
 * variants, the image for docker mode. Returns every problem, and what the plan builds on.
 */
export async function preflightBenchmark(config: ResolvedConfig, selection: Selection, bench: Benchmark) {
  const { manifest, source } = bench;
  const diagnostics: Diagnostic[] = [];
  const configFile = config.file ?? 'config';

  // Harnesses: every allowed one must be known; every selected one must be allowed.
  const known = knownHarnesses(config.harnesses);
  for (const [i, h] of manifest.allowed_harnesses.entries()) {
    if (!known.includes(h)) {
      diagnostics.push(
        source.diagnostic(
          ['allowed_harnesses', i],
          `unknown harness "${h}"; known: ${known.join(', ')}`,
          'unknown-harness',
        ),
      );
    } else if (!harnessAdapter(h, config.harnesses)) {
      diagnostics.push({
        location: { file: configFile },
        field: `harnesses.${h}`,
        message: `"${h}" is not a built-in harness, so it needs a command`,
        code: 'unknown-harness',
      });
    }
  }
  const selected = selection.harnesses.length
    ? [...new Set(selection.harnesses)]
    : manifest.allowed_harnesses;
  for (const h of selected) {
    if (!manifest.allowed_harnesses.includes(h)) {
      diagnostics.push(
        source.diagnostic(
          ['allowed_harnesses'],
          `--harness ${h} is not allowed for this benchmark; allowed: ${manifest.allowed_harnesses.join(', ')}`,
          'harness-not-allowed',
        ),
      );
    }
  }

  const promptIndex = manifest.model_visible_files.findIndex(
    (f) => f.replace(/^\.\//, '') === manifest.prompt_file.replace(/^\.\//, ''),
  );
  const { inventory, diagnostics: visible } = await scanVisibleFiles(bench);
  diagnostics.push(...visible);
  if (!existsSync(join(bench.dir, manifest.prompt_file))) {
    diagnostics.push(
      source.diagnostic(['prompt_file'], `"${manifest.prompt_file}" does not exist`, 'prompt-missing'),
    );
  } else if (promptIndex < 0) {
    diagnostics.push(
      source.diagnostic(
        ['prompt_file'],
        `"${manifest.prompt_file}" must also be in model_visible_files`,
        'prompt-not-visible',
      ),
    );
  }

  // Variants: all configured ones unless named.
  const variantNames = selection.variants.length ? selection.variants : Object.keys(config.variants);
  for (const v of new Set([
    ...variantNames,
    ...(selection.lines ?? []).flatMap((l) => (l.variant ? [l.variant] : [])),
  ])) {
    if (!config.variants[v]) {
      diagnostics.push({
        location: { file: configFile },
        field: 'variants',
        message: `no variant "${v}" is configured`,
        code: 'unknown-variant',
      });
    }
  }
  const variantOf = (name: string | undefined) =>
    name && config.variants[name] ? { name, config: config.variants[name] } : undefined;

  // Models: --model, then runner.yaml defaults.<harness>.model, then the vendor default.
  const resolved: ResolvedLine[] = [];
  const wanted: NonNullable<Selection['lines']> =
    selection.lines ??
    selected.flatMap((harness) =>
      (variantNames.length ? variantNames : [undefined]).map((variant) => ({
        harness,
        model: selection.model,
        variant,
      })),
    );
  for (const w of wanted) {
    const adapter = manifest.allowed_harnesses.includes(w.harness)
      ? harnessAdapter(w.harness, config.harnesses)
      : undefined;
    if (!adapter) continue;
    const fromManifest = selection.lines ? undefined : manifest.defaults[w.harness]?.model;
    const model = w.model ?? fromManifest;
    if (!model && adapter.requiresModel) {
      diagnostics.push(
        source.diagnostic(
          ['defaults'],
          `${w.harness} has no vendor default model: pass --model or set defaults.${w.harness}.model`,
          'model-missing',
        ),
      );
      continue;
    }
    const variant = variantOf(w.variant);
    const id = modelId(adapter.name, model, variant?.name);
    const identity = lineIdentity(adapter.name, model, variant?.name);
    // A line asked twice (`--variant a --variant a`) is one line; two different ones must not
    // share a model-id, or each would take the other's attempts for its own.
    const same = resolved.find((r) => r.modelId === id);
    if (same) {
      const other = lineIdentity(same.adapter.name, same.model, same.variant?.name);
      if (other !== identity) {
        diagnostics.push({
          location: { file: bench.manifestPath },
          message: `${other} and ${identity} both map to model-id "${id}"; different models never share one attempt set`,
          code: 'model-id-collision',
        });
      }
      continue;
    }
    const bytes = Buffer.byteLength(id);
    if (bytes > MAX_MODEL_ID_BYTES) {
      const message =
        `model-id "${id.slice(0, 60)}..." (${identity}) is ${bytes} bytes; its attempt directory ` +
        `names must fit the filesystem's 255-byte limit, so a model-id has at most ${MAX_MODEL_ID_BYTES}`;
      diagnostics.push(
        fromManifest && !w.model
          ? source.diagnostic(['defaults', w.harness, 'model'], message, 'model-id-too-long')
          : { location: { file: bench.manifestPath }, field: '--model', message, code: 'model-id-too-long' },
      );
      continue;
    }
    resolved.push({
      adapter,
      model,
      modelSource: w.modelSource ?? (w.model ? 'flag' : fromManifest ? 'runner.yaml' : 'vendor-default'),
      variant,
      modelId: id,
    });
  }

  const mode = selection.mode ?? config.mode ?? (manifest.image ? 'docker' : 'lite');
  if (mode === 'docker' && !manifest.image) {
    diagnostics.push(
      source.diagnostic(
        [],
        'docker mode needs an image in runner.yaml (or run with --mode lite)',
        'image-missing',
      ),
    );
  }
  return { diagnostics, inventory, resolved, mode };
}
