import { defineConfig } from 'bench-pipeline';

export default defineConfig({
  benchmarksDir: 'benchmarks',
  timeout: '30m',
  harnesses: {
    // A deterministic stand-in for a coding agent: no API key, no network. It solves the two examples.
    demo: {
      command: ['node', './tasks/harnesses/demo-agent.mjs'],
      versionCommand: ['node', './tasks/harnesses/demo-agent.mjs', '--version'],
    },
  },
});
