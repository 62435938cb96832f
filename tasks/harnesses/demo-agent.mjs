#!/usr/bin/env node
// A deterministic stand-in for a coding agent, so the pipeline can be tried with no API key.
// It reads the task from prompt.md in its working directory, "thinks" in a few logged steps and
// writes a solution. It knows how to solve the shipped fizzbuzz-cli example; for any other task it
// writes a note saying so and exits 1, which the pipeline records as a failed attempt.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

if (process.argv.includes('--version')) {
  console.log('demo-agent 1.0.0');
  process.exit(0);
}

const step = (message) => {
  console.log(`[demo-agent] ${message}`);
  // A short pause per step, so a live view has something to show.
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
};

const instruction = process.argv.at(-1) ?? '';
step(`instruction: ${instruction.split('\n')[0]}`);
if (!existsSync('prompt.md')) {
  console.error('[demo-agent] no prompt.md in the working directory');
  process.exit(2);
}
const prompt = readFileSync('prompt.md', 'utf8');
step(`read prompt.md (${prompt.length} bytes)`);
if (existsSync('context.md')) step(`read context.md (${readFileSync('context.md', 'utf8').length} bytes)`);
step(`model: ${process.env.BENCH_PIPELINE_MODEL ?? '<vendor-default>'}`);

if (!/fizzbuzz/i.test(prompt)) {
  writeFileSync(
    'ATTEMPT.md',
    '# demo-agent\n\nThe demo agent only knows how to solve the fizzbuzz-cli example.\n',
  );
  console.error('[demo-agent] this task is beyond the demo agent; wrote ATTEMPT.md');
  process.exit(1);
}

const solution = `#!/usr/bin/env node
// FizzBuzz from 1 to N (default 100), one value per line.
export function fizzbuzz(n) {
  return Array.from({ length: n }, (_, i) => {
    const k = i + 1;
    return k % 15 === 0 ? 'FizzBuzz' : k % 3 === 0 ? 'Fizz' : k % 5 === 0 ? 'Buzz' : String(k);
  });
}

if (import.meta.url === \`file://\${process.argv[1]}\`) {
  const n = process.argv[2] === undefined ? 100 : Number(process.argv[2]);
  if (!Number.isInteger(n) || n < 1) {
    console.error('usage: fizzbuzz.mjs [N], N a positive integer');
    process.exit(2);
  }
  console.log(fizzbuzz(n).join('\\n'));
}
`;
const test = `import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fizzbuzz } from './fizzbuzz.mjs';

test('first fifteen', () => {
  assert.deepEqual(fizzbuzz(15).slice(-3), ['13', '14', 'FizzBuzz']);
  assert.equal(fizzbuzz(15)[2], 'Fizz');
  assert.equal(fizzbuzz(15)[4], 'Buzz');
});
`;
writeFileSync('fizzbuzz.mjs', solution, { mode: 0o755 });
step('wrote fizzbuzz.mjs');
writeFileSync('fizzbuzz.test.mjs', test);
step('wrote fizzbuzz.test.mjs');
const out = execFileSync(process.execPath, ['fizzbuzz.mjs', '15'], { encoding: 'utf8' });
step(`node fizzbuzz.mjs 15 -> ${out.trim().split('\n').slice(-3).join(' ')}`);
step('done');
