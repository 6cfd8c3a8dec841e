// API documentation checks over one TypeScript program:
// - every @example in the TSDoc of src/ typechecks as a user would write it (importing from
//   'memprims' or 'memprims/arbitraries');
// - every export of the public entry points carries a TSDoc description (what TypeDoc shows).
import { join } from 'node:path';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';
import { collectExamples, createProgram, formatDiagnostic, root, type DocExample } from './doc-program.js';

let examples: DocExample[];
let program: ts.Program;
// A deliberately wrong example compiled in the same program: proves the check can fail.
const broken = join(root, '.doc-examples', 'deliberately-broken.ts');

beforeAll(() => {
  examples = collectExamples();
  const files = new Map(examples.map((e) => [e.file, e.code]));
  files.set(broken, "import { Layout } from 'memprims';\nconst n: string = Layout.fromSizeAlign(8, 8);\nexport {};\n");
  program = createProgram(files);
});

describe('TSDoc @example blocks', () => {
  it('are found, and each imports the package', () => {
    expect(examples.length).toBeGreaterThan(10);
    const notImporting = examples.filter((e) => !/from 'memprims(\/arbitraries)?'/.test(e.code)).map((e) => e.where);
    expect(notImporting, 'examples that do not import from memprims').toEqual([]);
  });

  it('typecheck', () => {
    const failures: string[] = [];
    for (const e of examples) {
      const sf = program.getSourceFile(e.file)!;
      for (const d of [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)]) failures.push(`${e.where} (example ${formatDiagnostic(d)})`);
    }
    expect(failures, `examples that do not compile:\n${failures.join('\n')}`).toEqual([]);
  });

  it('a broken example is caught (the check can fail)', () => {
    const text = program.getSemanticDiagnostics(program.getSourceFile(broken)).map(formatDiagnostic);
    expect(text).toEqual([expect.stringContaining("Type 'Layout' is not assignable to type 'string'")]);
  });
});

describe('TSDoc descriptions', () => {
  function undocumented(entry: string): { exports: number; missing: string[] } {
    const checker = program.getTypeChecker();
    const file = program.getSourceFile(join(root, entry))!;
    const exports = checker.getExportsOfModule(checker.getSymbolAtLocation(file)!);
    const missing: string[] = [];
    for (const exported of exports) {
      const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      if (!symbol.getDocumentationComment(checker).some((part) => part.text.trim().length > 0)) {
        const decl = symbol.declarations?.[0];
        missing.push(`${exported.name} (${decl ? decl.getSourceFile().fileName.slice(root.length + 1) : '?'})`);
      }
    }
    return { exports: exports.length, missing: missing.sort() };
  }

  it.each(['src/index.ts', 'src/arbitraries/index.ts'])('every export of %s has a description', (entry) => {
    const { exports, missing } = undocumented(entry);
    expect(exports).toBeGreaterThan(5);
    expect(missing, `exports without a TSDoc description:\n${missing.join('\n')}`).toEqual([]);
  });
});

describe('TSDoc examples per export', () => {
  // Value exports (classes, functions, constants, enums) without an `@example` tag; type-only
  // exports (interfaces, type aliases) and symbols tagged `@internal` are not required to have one.
  function withoutExample(entry: string): { values: number; missing: string[] } {
    const checker = program.getTypeChecker();
    const file = program.getSourceFile(join(root, entry))!;
    let values = 0;
    const missing: string[] = [];
    for (const exported of checker.getExportsOfModule(checker.getSymbolAtLocation(file)!)) {
      const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      if (!(symbol.flags & ts.SymbolFlags.Value)) continue;
      const tags = symbol.getJsDocTags(checker).map((t) => t.name);
      if (tags.includes('internal')) continue;
      values++;
      if (!tags.includes('example')) {
        const decl = symbol.declarations?.[0];
        missing.push(`${exported.name} (${decl ? decl.getSourceFile().fileName.slice(root.length + 1) : '?'})`);
      }
    }
    return { values, missing: missing.sort() };
  }

  it('every value export of src/index.ts and src/arbitraries/index.ts has an @example', () => {
    const missing: string[] = [];
    for (const entry of ['src/index.ts', 'src/arbitraries/index.ts']) {
      const result = withoutExample(entry);
      expect(result.values, `value exports of ${entry}`).toBeGreaterThan(5);
      missing.push(...result.missing);
    }
    expect(missing, `value exports without an @example:\n${missing.join('\n')}`).toEqual([]);
  });
});
