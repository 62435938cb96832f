import { isMap, isNode, isSeq, LineCounter, parseDocument, visit } from 'yaml';
import type { z } from 'zod';
import { type Diagnostic, diagnosticsOf, formatFieldPath, type Location, UsageError } from './errors.js';

type PathSegment = string | number | symbol;

/** A parsed YAML file that can point at the place of any field path in it. */
export interface YamlSource<T> {
  value: T;
  /** The position of the value at `path`, or of its nearest existing parent. */
  locate(path: readonly PathSegment[]): Location;
  diagnostic(path: readonly PathSegment[], message: string, code?: string): Diagnostic;
}

/**
 * Parses YAML and validates it with a zod schema. Syntax and schema errors become one
 * UsageError whose diagnostics are `file:line:col: field: message`, mapped from zod issue
 * paths to the YAML node ranges.
 */
export function parseYaml<S extends z.ZodType>(
  displayPath: string,
  text: string,
  schema: S,
): YamlSource<z.output<S>> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number): Location => {
    const pos = lineCounter.linePos(offset);
    return { file: displayPath, line: pos.line, column: pos.col };
  };
  if (doc.errors.length > 0) {
    throw new UsageError(
      `${displayPath} is not valid YAML`,
      doc.errors.map((e) => ({
        location: at(e.pos[0]),
        message: e.message.split('\n')[0] ?? e.message,
        code: 'manifest-syntax',
      })),
    );
  }

  const locate = (path: readonly PathSegment[], key?: string): Location => {
    // Walk down as far as the path exists; report the deepest node found.
    let node: unknown = doc.contents;
    let offset = isNode(node) && node.range ? node.range[0] : 0;
    for (const seg of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isNode(p.key) && 'value' in p.key && p.key.value === seg);
        if (!pair) break;
        node = pair.value;
        const keyNode = pair.key;
        offset =
          isNode(node) && node.range
            ? node.range[0]
            : isNode(keyNode) && keyNode.range
              ? keyNode.range[0]
              : offset;
      } else if (isSeq(node) && typeof seg === 'number') {
        node = node.items[seg];
        if (!isNode(node) || !node.range) break;
        offset = node.range[0];
      } else {
        break;
      }
    }
    if (key !== undefined && isMap(node)) {
      const pair = node.items.find((p) => isNode(p.key) && 'value' in p.key && p.key.value === key);
      if (isNode(pair?.key) && pair.key.range) offset = pair.key.range[0];
    }
    return at(offset);
  };

  const result = schema.safeParse(toJS(doc, displayPath, at));
  if (!result.success) {
    throw new UsageError(
      `${displayPath} does not fit the schema`,
      diagnosticsOf(result.error.issues, locate, 'manifest-schema'),
    );
  }
  return {
    value: result.data,
    locate: (path) => locate(path),
    diagnostic: (path, message, code) => ({
      location: locate(path),
      field: formatFieldPath(path),
      message,
      code,
    }),
  };
}

/**
 * The document's value. Aliases that expand past yaml's limit (an "alias bomb": a few lines
 * that would take gigabytes) are refused as a located syntax error, at the first alias.
 */
function toJS(
  doc: ReturnType<typeof parseDocument>,
  displayPath: string,
  at: (offset: number) => Location,
): unknown {
  try {
    return doc.toJS();
  } catch (error) {
    if (!(error instanceof ReferenceError) || !/alias/i.test(error.message)) throw error;
    let offset = 0;
    visit(doc, {
      Alias(_, node) {
        offset = node.range?.[0] ?? 0;
        return visit.BREAK;
      },
    });
    throw new UsageError(`${displayPath} is not valid YAML`, [
      {
        location: at(offset),
        message: 'its aliases expand too far (more than yaml allows, a resource exhaustion guard)',
        code: 'manifest-syntax',
      },
    ]);
  }
}
