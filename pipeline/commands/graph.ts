import type { ParsedArgs } from '../cli.js';
import { loadConfig } from '../config.js';
import { UsageError } from '../errors.js';
import { shortKey } from '../keys.js';
import { buildPlan } from '../plan.js';
import { VersionProbe } from '../probe.js';
import { planRows } from './plan.js';
import { selectionFrom } from './selection.js';

interface GraphJson {
  nodes: { id: string; task: string; state: string; key: string }[];
  edges: [string, string][];
}

export async function graphCommand({ values, positionals }: ParsedArgs<'graph'>): Promise<number> {
  const format = values.format ?? 'mermaid';
  if (!['mermaid', 'dot', 'json'].includes(format))
    throw new UsageError(`--format ${format}: must be mermaid, dot or json`);
  const config = await loadConfig(values.config);
  const probe = await new VersionProbe().load();
  const plan = await buildPlan(config, selectionFrom(positionals, values), { persist: false, probe });
  const graph: GraphJson = { nodes: [], edges: [] };
  for (const r of planRows(plan)) {
    const id = `${r.benchmark}/${r.node}`;
    graph.nodes.push({ id, task: r.task, state: r.state, key: r.key });
    const attempt = r.node.slice(0, r.node.lastIndexOf('/'));
    if (r.task === 'pin-digest') graph.edges.push([`${r.benchmark}/resolve-image`, id]);
    if (r.task === 'run-harness') {
      graph.edges.push([`${r.benchmark}/pin-digest`, id], [`${r.benchmark}/seed-workspace`, id]);
    }
    if (r.task === 'collect') graph.edges.push([`${r.benchmark}/${attempt}/run-harness`, id]);
    if (r.task === 'write-run-log') graph.edges.push([`${r.benchmark}/${attempt}/collect`, id]);
  }
  process.stdout.write(render(graph, format));
  return 0;
}

function render(graph: GraphJson, format: string): string {
  if (format === 'json') return `${JSON.stringify(graph, null, 2)}\n`;
  const index = new Map(graph.nodes.map((n, i) => [n.id, `n${i}`]));
  const label = (n: GraphJson['nodes'][number]) =>
    `${n.id}\\n${n.state}${n.key ? ` ${shortKey(n.key)}` : ''}`;
  if (format === 'dot') {
    const lines = ['digraph pipeline {', '  rankdir=LR;', '  node [shape=box];'];
    for (const n of graph.nodes) lines.push(`  ${index.get(n.id)} [label="${label(n)}"];`);
    for (const [a, b] of graph.edges) lines.push(`  ${index.get(a)} -> ${index.get(b)};`);
    lines.push('}');
    return `${lines.join('\n')}\n`;
  }
  const lines = ['graph LR'];
  for (const n of graph.nodes) lines.push(`  ${index.get(n.id)}["${label(n).replace('\\n', '<br/>')}"]`);
  for (const [a, b] of graph.edges) lines.push(`  ${index.get(a)} --> ${index.get(b)}`);
  return `${lines.join('\n')}\n`;
}
