// A node:test reporter for the scoring checks (evaluator-only): one JSON line per finished test
// or suite, with what a check needs to name it (name, depth, file) and its outcome, and the
// stderr of each test file, so a file that does not load can be shown.
export default async function* scoringReporter(source) {
  for await (const { type, data } of source) {
    if (type === 'test:stderr') {
      yield `${JSON.stringify({ stderr: data.message, file: data.file ?? null })}\n`;
      continue;
    }
    if (type !== 'test:pass' && type !== 'test:fail') continue;
    const error = data.details?.error;
    yield `${JSON.stringify({
      name: data.name,
      nesting: data.nesting,
      file: data.file ?? null,
      suite: data.details?.type === 'suite',
      pass: type === 'test:pass',
      skip: Boolean(data.skip) || Boolean(data.todo),
      error: error ? String((error.cause ?? error).message ?? error) : null,
    })}\n`;
  }
}
