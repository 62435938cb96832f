import type { Shape } from './choices.js';
import { FENCE, TODO } from './templates.js';

/** One row of the scorecard's table. */
interface Criterion {
  name: string;
  max: number;
  method: 'auto' | 'manual' | 'hybrid';
  evidence: string;
}

/**
 * scorecard.md, evaluator-only: example criteria that follow the task type and the state mode
 * (a UI criterion, the baseline's tests kept, the bootstrap scored or not), then the checks,
 * guidance, failure rules, shortcut traps and the CSV output format.
 */
export function renderScorecard(s: Shape): string {
  const brown = s.stateMode === 'brownfield';
  // The commands that should pass, quoted when the stack suggests them.
  const check = s.stack.check ? `\`${s.stack.check}\`` : 'the build and test commands';
  const criteria: Criterion[] = [
    {
      name: `${s.stack.check ? '' : `${TODO}: `}${check} ${s.stack.check ? 'passes' : 'pass'}`,
      max: 3,
      method: 'auto',
      evidence: `exit code and summary of ${check} in \`<attempt>\``,
    },
    {
      name: `${TODO}: required feature 1 behaves as \`context.md\` says`,
      max: 3,
      method: 'auto',
      evidence: 'output of check A',
    },
    { name: `${TODO}: required feature 2`, max: 2, method: 'auto', evidence: 'output of check B' },
    { name: `${TODO}: errors and edge cases`, max: 2, method: 'auto', evidence: 'output of check C' },
    {
      name: 'Tests cover the requirements',
      max: 2,
      method: 'hybrid',
      evidence: 'names of the new tests; each would fail without the change',
    },
    { name: `Deliverables present (${s.artifact.label})`, max: 1, method: 'auto', evidence: 'file listing' },
    ...(s.taskType.ui
      ? [
          {
            name: 'The UI follows the copy and layout in `context.md`, usable on a small screen',
            max: 2,
            method: 'manual' as const,
            evidence: 'screenshots of the main views at 375px and 1280px wide',
          },
        ]
      : []),
    {
      name: `Constraints kept (${s.network.label}; nothing written outside the workspace)`,
      max: 1,
      method: 'manual',
      evidence: 'file listing; `agent-run.log`',
    },
    ...(brown
      ? [
          {
            name: 'Baseline tests kept, none weakened',
            max: 2,
            method: 'hybrid' as const,
            evidence:
              '`diff -ru <baseline> <attempt>` on the test files; every baseline assertion still present',
          },
          {
            name: "Change is scoped and in the project's style",
            max: 2,
            method: 'manual' as const,
            evidence: '`diff -ru <baseline> <attempt>` (excluding the visible files and the logs)',
          },
        ]
      : [
          { name: 'Code is clear and maintainable', max: 2, method: 'manual' as const, evidence: 'the code' },
          ...(s.bootstrap
            ? []
            : [
                {
                  name: "Project bootstrapped with the stack's official tooling",
                  max: 1,
                  method: 'hybrid' as const,
                  evidence: 'the project files and lockfile; the bootstrap commands in `agent-run.log`',
                },
              ]),
        ]),
  ];
  const total = criteria.reduce((sum, c) => sum + c.max, 0);
  const bootstrapNote = brown
    ? `Bootstrap is not scored: the project exists${s.bootstrap ? '; `bootstrap.md` only says how to install and run it' : ''}.`
    : s.bootstrap
      ? 'Bootstrap is not scored: `bootstrap.md` gives every model the same starter.'
      : 'Bootstrap is scored: creating the project is part of the task (criterion "Project bootstrapped").';
  return [
    `# Scorecard: ${s.slug}`,
    '',
    'Evaluator-only. Never list this file in `model_visible_files`, and never quote it to an attempt.',
    '',
    `${TODO}: replace the example criteria with 8 to 12 of this task's own, each with the evidence that decides it; write the checks they name.`,
    '',
    '## Shape',
    '',
    `- ${s.displayName}: ${s.taskType.label}, ${s.stateMode}; audience and difficulty: ${s.audience}`,
    `- Stack: ${s.stack.label}; expected artifact: ${s.artifact.label}; timebox: ${s.timebox}`,
    `- Harnesses: ${s.harnesses.join(', ')}; execution path: ${s.path}`,
    '',
    `The attempt directory \`benchmarks/${s.slug}/eval-attempts/<model-id>-attempt-<n>/\` holds the final`,
    "workspace, with the tool's `agent-run.log`, `run-log.md` and `run-log.json`. `<attempt>` below is that",
    brown
      ? `directory, \`<baseline>\` is \`benchmarks/${s.slug}/baseline/\`. Score against the baseline (see \`baseline-manifest.md\`), never against another attempt.`
      : 'directory. There is no baseline: score the workspace on its own, never against another attempt.',
    '',
    '| Criterion | Max | Method | Evidence required |',
    '| --------- | --- | ------ | ----------------- |',
    ...criteria.map((c) => `| ${c.name} | ${c.max} | ${c.method} | ${c.evidence} |`),
    '',
    `Total: ${total}.`,
    '',
    '## Checks',
    '',
    'Run each from `<attempt>`.',
    '',
    `- **A**: ${TODO}: the exact commands, and the output they must give.`,
    `- **B**: ${TODO}: ...`,
    `- **C**: ${TODO}: inputs that are not among the examples in \`context.md\`, and the errors.`,
    '',
    '## Guidance',
    '',
    '- **Full**: the evidence matches the expectation exactly.',
    `- **Partial** (about half, rounded down): the behaviour is right but a detail is off. ${TODO}: the typical partial cases.`,
    '- **Zero**: the behaviour is missing or wrong, or the evidence cannot be produced.',
    '- Manual criteria: full when a reviewer would accept the work as is; partial for noise or a',
    '  missing piece; zero for a rewrite, an unasked-for dependency, or a broken layout.',
    '',
    '## Failure rules',
    '',
    `- If ${check} cannot run at all (a build error, a missing module), score 0 on its criterion and`,
    '  on every criterion whose check needs it.',
    ...(s.artifact.value === 'running-app'
      ? ['- If the app does not start with its documented command, score 0 on every auto criterion.']
      : []),
    ...(brown
      ? [
          '- A baseline test deleted, skipped or loosened: 0 on "Baseline tests kept", at most 1 on the first criterion.',
        ]
      : []),
    '- Network use or packages the constraints forbid, or files written outside the workspace: 0 on',
    '  "Constraints kept", and say so in the Notes.',
    `- ${TODO}: hard stops specific to this task.`,
    '',
    '## Shortcut traps',
    '',
    '- Outputs hard-coded for the examples in `context.md`: they pass the examples and fail check C.',
    '- Tests that pass without the change (no assertions, or the unit under test mocked away).',
    ...(brown ? ['- Failing baseline tests deleted or skipped instead of fixed.'] : []),
    '- Claims in the model\'s summary ("all tests pass") are not evidence; run the checks.',
    `- ${TODO}: the wrong but plausible solutions to this task.`,
    '',
    '## What is scored and what is not',
    '',
    `- ${bootstrapNote}`,
    brown
      ? '- Compare against the baseline, as `baseline-manifest.md` describes; derive the patch with `diff -ru <baseline> <attempt>`.'
      : '- No baseline to compare against.',
    "- Speed, cost and the length of the model's summary are not scored here.",
    '',
    '## Output format',
    '',
    'One CSV row per criterion, in the table order, with a header row:',
    '',
    FENCE,
    'Criterion,Score,Max,Notes,Evidence',
    FENCE,
    '',
  ].join('\n');
}
