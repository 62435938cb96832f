import { createInterface, type Interface } from 'node:readline/promises';
import { UsageError } from '../../errors.js';
import { pick, type Question } from './questions.js';

export const CANCELLED = 'new: cancelled; nothing was created';

/** The interactive side: node:readline on a TTY; each question lists its options, Enter the default. */
export class Terminal {
  private readonly rl: Interface;
  /** Lines arrive through the iterator, which buffers them: pasted answers are not lost. */
  private readonly lines: AsyncIterator<string>;

  constructor() {
    this.rl = createInterface({ input: process.stdin, output: process.stdout });
    this.rl.on('SIGINT', () => this.rl.close());
    this.lines = this.rl[Symbol.asyncIterator]();
  }

  private async line(prompt: string): Promise<string> {
    this.rl.setPrompt(prompt);
    this.rl.prompt();
    const next = await this.lines.next();
    if (next.done) throw new UsageError(CANCELLED);
    return String(next.value).trim();
  }

  ask = async (q: Question): Promise<string> => {
    const recommended = q.recommended.split(',').filter(Boolean);
    const out = [`\n${q.title}`];
    for (const [i, c] of q.choices.entries())
      out.push(`  ${i + 1}) ${c.label}${recommended.includes(c.value) ? '  (recommended)' : ''}`);
    const how = q.many
      ? 'numbers or names, separated by commas'
      : q.choices.length
        ? `a number${q.free ? ', a name, or your own' : ' or a name'}`
        : 'type it';
    out.push(`  ${how}; Enter takes the recommended answer`);
    process.stdout.write(`${out.join('\n')}\n`);
    for (;;) {
      const text = await this.line(`[${q.recommended || 'none'}] > `);
      if (!text || (!q.recommended && text.toLowerCase() === 'none')) return q.recommended;
      const picked = pick(q, text, true);
      const problem =
        picked === undefined
          ? `choose ${q.choices.map((_, i) => i + 1).join(', ')}${q.free ? ', or type your own' : ''}`
          : q.check?.(picked);
      if (picked !== undefined && !problem) return picked;
      process.stdout.write(`  ${problem}\n`);
    }
  };

  async confirm(question: string): Promise<boolean> {
    for (;;) {
      const text = (await this.line(`${question} [Y/n] `)).toLowerCase();
      if (['', 'y', 'yes'].includes(text)) return true;
      if (['n', 'no'].includes(text)) return false;
    }
  }

  close(): void {
    this.rl.close();
  }
}
