import { loadConfig } from '../config.js';
import { UsageError } from '../errors.js';
import { buildGraph, edgesOf, type Graph, type GraphNode, nodeJson } from '../graph.js';
import { shortKey } from '../keys.js';
import { buildPlan } from '../plan.js';
import { VersionProbe } from '../probe.js';
import type { ParsedArgs } from './options.js';
import { selectionFrom } from './selection.js';

export async function graphCommand({ values, positionals }: ParsedArgs<'graph'>): Promise<number> {
  const format = values.format ?? 'mermaid';
  if (!['mermaid', 'dot', 'json'].includes(format))
    throw new UsageError(`--format ${format}: must be mermaid, dot or json`);
  const config = await loadConfig(values.config);
  const probe = await new VersionProbe().load();
  const plan = await buildPlan(config, selectionFrom(positionals, values), { persist: false, probe });
  process.stdout.write(render(buildGraph(plan), format));
  return 0;
}

function render(graph: Graph, format: string): string {
  // The graph itself, and its edges for tools that draw them.
  const edges = edgesOf(graph);
  if (format === 'json') {
    const nodes = graph.nodes.map((n) => nodeJson(n, true));
    return `${JSON.stringify({ nodes, edges }, null, 2)}\n`;
  }
  const index = new Map(graph.nodes.map((n, i) => [n.id, `n${i}`]));
  const label = (n: GraphNode) => `${n.id}\\n${n.state}${n.key ? ` ${shortKey(n.key)}` : ''}`;
  if (format === 'dot') {
    const lines = ['digraph pipeline {', '  rankdir=LR;', '  node [shape=box];'];
    for (const n of graph.nodes) lines.push(`  ${index.get(n.id)} [label="${label(n)}"];`);
    for (const [a, b] of edges) lines.push(`  ${index.get(a)} -> ${index.get(b)};`);
    lines.push('}');
    return `${lines.join('\n')}\n`;
  }
  const lines = ['graph LR'];
  for (const n of graph.nodes) lines.push(`  ${index.get(n.id)}["${label(n).replace('\\n', '<br/>')}"]`);
  for (const [a, b] of edges) lines.push(`  ${index.get(a)} --> ${index.get(b)}`);
  return `${lines.join('\n')}\n`;
}
