/**
 * The docker suites' engine and test image: test/docker/engine.sh sets up an engine with the base
 * image bench-pipeline-test/busybox:1. Without one a suite is skipped, except under CI=true,
 * where it must run.
 */

import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { benchmarkFiles, REPO } from './rig.js';

export const BASE = 'bench-pipeline-test/busybox:1';
export const IMAGE = 'bench-pipeline-test/attempt:1';
export const RUN_ATTEMPT = join(REPO, 'test/fixtures/run-attempt.sh');

export const docker = (...args: (string | { input: string })[]) => {
  const input = args.find((a) => typeof a !== 'string');
  const argv = args.filter((a): a is string => typeof a === 'string');
  return execFileSync('docker', argv, { encoding: 'utf8', input: input?.input }).trim();
};
export const engineUp = (() => {
  try {
    docker('image', 'inspect', BASE);
    return true;
  } catch {
    return false;
  }
})();
if (!engineUp && process.env.CI === 'true') {
  throw new Error(`CI=true but no Docker engine with ${BASE}: run test/docker/engine.sh first`);
}

/** A Dockerfile context for the test image: the base plus the scripted run-attempt. */
export function imageContext(dir: string, marker = ''): string {
  mkdirSync(dir, { recursive: true });
  copyFileSync(RUN_ATTEMPT, join(dir, 'run-attempt'));
  writeFileSync(
    join(dir, 'Dockerfile'),
    `FROM ${BASE}\nCOPY run-attempt /usr/local/bin/run-attempt\n${marker}ENTRYPOINT ["/usr/local/bin/run-attempt"]\n`,
  );
  return dir;
}

/** bench.config.mjs: harness `t` with TEST_TOKEN, and `env` for the container's run-attempt. */
export const dockerConfig = (env: Record<string, string> = {}, extra = '') => `export default {
  harnesses: { t: { command: ['run-attempt'], tokenEnv: 'TEST_TOKEN', env: ${JSON.stringify({ EXTRA: 'from-config', ...env })} } },
  ${extra}
};
`;

export const dockerBenchmark = (slug: string, image: string) => ({
  ...benchmarkFiles(slug, { image }),
  'bench.config.mjs': dockerConfig(),
});
