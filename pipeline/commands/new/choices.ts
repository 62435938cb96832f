/*
 * The decisions `new` asks for, each with its options and what an option implies downstream (a
 * task type's recommended artifact, a stack's check command), and the Shape they make: the one
 * value the templates are written from.
 */

export interface Choice {
  value: string;
  label: string;
}

interface TaskType extends Choice {
  /** The artifact recommended for this kind of task. */
  artifact: string;
  /** Changes to something that exists: brownfield is recommended. */
  brownfield?: boolean;
  /** Has a user interface: the scorecard gets a manual UI criterion. */
  ui?: boolean;
}

export const TASK_TYPES: TaskType[] = [
  { value: 'frontend-app', label: 'frontend app', artifact: 'running-app', ui: true },
  { value: 'backend-api', label: 'backend API', artifact: 'api-endpoint' },
  { value: 'cli', label: 'CLI', artifact: 'cli-command' },
  { value: 'library', label: 'library', artifact: 'library-function' },
  { value: 'refactor', label: 'refactor', artifact: 'test-passing-repo', brownfield: true },
  { value: 'bugfix', label: 'bugfix', artifact: 'test-passing-repo', brownfield: true },
  { value: 'data-pipeline', label: 'data pipeline', artifact: 'test-passing-repo' },
  { value: 'mobile-view', label: 'mobile view', artifact: 'running-app', ui: true },
  { value: 'full-stack-slice', label: 'full-stack slice', artifact: 'running-app', ui: true },
];

export const AUDIENCES: Choice[] = [
  { value: 'beginner', label: 'beginner: a small, fully specified task' },
  { value: 'intermediate', label: 'intermediate: a few features and their edge cases' },
  { value: 'senior', label: 'senior: design decisions and trade-offs left to the model' },
  { value: 'production-like', label: 'production-like: tests, errors and docs, as a real change' },
];

interface Stack extends Choice {
  /** The command that should pass, suggested until the author confirms it. */
  check?: string;
  /** A well-known starter command; bootstrap.md marks it unverified until the author checks it. */
  bootstrap?: string;
}

export const STACKS: Stack[] = [
  { value: 'node', label: 'Node.js 20 or later', check: 'npm test', bootstrap: 'npm init -y' },
  { value: 'python', label: 'Python 3.12 or later', check: 'python -m pytest', bootstrap: 'uv init' },
  { value: 'go', label: 'Go 1.22 or later', check: 'go test ./...', bootstrap: 'go mod init <module>' },
  { value: 'rust', label: 'Rust (stable)', check: 'cargo test', bootstrap: 'cargo init' },
  { value: 'java', label: 'Java 21 with Maven', check: 'mvn -q test' },
  { value: 'dotnet', label: '.NET 8', check: 'dotnet test', bootstrap: 'dotnet new console' },
  { value: 'any', label: 'any: the model chooses and says why' },
];

export const STATE_MODES: Choice[] = [
  { value: 'greenfield', label: 'greenfield: the model creates the project in an empty workspace' },
  { value: 'brownfield', label: 'brownfield: the model changes a frozen baseline project' },
];

interface Artifact extends Choice {
  /** The deliverable line in prompt.md. */
  deliverable: string;
}

export const ARTIFACTS: Artifact[] = [
  {
    value: 'running-app',
    label: 'running app',
    deliverable: 'An app that starts with one documented command and provides every feature above.',
  },
  {
    value: 'test-passing-repo',
    label: 'test-passing repo',
    deliverable: 'The project, with tests for every requirement, passing on the commands below.',
  },
  {
    value: 'cli-command',
    label: 'CLI command',
    deliverable: 'A command-line program with the usage, output and exit codes `context.md` gives.',
  },
  {
    value: 'api-endpoint',
    label: 'API endpoint',
    deliverable: 'The HTTP endpoints, with the requests, responses and status codes `context.md` gives.',
  },
  {
    value: 'library-function',
    label: 'library function',
    deliverable: 'The exported functions, with the signatures and behaviour `context.md` gives.',
  },
  {
    value: 'migration',
    label: 'migration',
    deliverable: 'The migration, which applies to the data in `context.md` and can be rolled back.',
  },
  {
    value: 'docs-and-code',
    label: 'documentation plus code',
    deliverable: 'The code, and documentation of how to install, use and check it.',
  },
];

interface Network extends Choice {
  /** The network line of prompt.md's constraints. */
  rule: string;
}

export const NETWORKS: Network[] = [
  {
    value: 'registry',
    label: "packages from the stack's registry only",
    rule: "Network: only to install packages from the stack's package registry; no other network use.",
  },
  {
    value: 'none',
    label: 'no network, no new packages',
    rule: 'Network: none. Install no packages; use only what the environment provides.',
  },
  { value: 'open', label: 'open', rule: 'Network: allowed, for documentation and packages.' },
];

export const PATHS: Choice[] = [
  { value: 'lite', label: 'lite: the harness CLI on the host, in a temp dir; no Dockerfile or image' },
  { value: 'docker', label: 'docker: full container isolation; you write a Dockerfile and build an image' },
  { value: 'both', label: 'both: docker by default, --mode lite for the lite path' },
];

export const TIMEBOXES: Choice[] = ['15m', '30m', '60m', '2h'].map((t) => ({ value: t, label: t }));
export const BUILT_IN_HARNESSES = ['claude-code', 'codex', 'opencode'];
export const DEFAULT_OPENCODE_MODEL = 'openrouter/z-ai/glm-4.7';

export type StateMode = 'greenfield' | 'brownfield';
export type ExecutionPath = 'docker' | 'lite' | 'both';

/** Every decision the package is written from. */
export interface Shape {
  slug: string;
  displayName: string;
  taskType: TaskType;
  audience: string;
  stack: Stack;
  stateMode: StateMode;
  artifact: Artifact;
  timebox: string;
  network: Network;
  constraints: string[];
  harnesses: string[];
  opencodeModel: string | undefined;
  path: ExecutionPath;
  image: string | undefined;
  bootstrap: boolean;
}
