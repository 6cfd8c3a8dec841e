// Builds one TypeScript program over src/ plus every @example block of the TSDoc comments
// (each example as its own virtual module), with 'memprims' mapped to src/index.ts and
// 'memprims/arbitraries' to src/arbitraries/index.ts.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const src = join(root, 'src');

export interface DocExample {
  /** Virtual file name of the example. */
  file: string;
  /** Where the example is written: `src/x/y.ts:line`. */
  where: string;
  code: string;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) out.push(path);
  }
  return out.sort();
}

/** Every fenced code block after an `@example` tag in a `/** … *\/` comment of src/, and every ```ts block of README.md. */
export function collectExamples(): DocExample[] {
  const examples: DocExample[] = [];
  for (const path of sourceFiles(src)) {
    const text = readFileSync(path, 'utf8');
    const comment = /\/\*\*([\s\S]*?)\*\//g;
    for (let m = comment.exec(text); m; m = comment.exec(text)) {
      const body = m[1].split('\n').map((line) => line.replace(/^\s*\* ?/, ''));
      for (let i = 0; i < body.length; i++) {
        if (!/^@example\b/.test(body[i].trim())) continue;
        let j = i + 1;
        while (j < body.length && !body[j].trim().startsWith('```')) {
          if (body[j].trim().startsWith('@')) break;
          j++;
        }
        if (j >= body.length || !body[j].trim().startsWith('```')) continue;
        const start = j + 1;
        let end = start;
        while (end < body.length && !body[end].trim().startsWith('```')) end++;
        const line = text.slice(0, m.index).split('\n').length + start;
        const where = `${relative(root, path)}:${line}`;
        const file = join(root, '.doc-examples', `${relative(src, path).replace(/[\\/.]/g, '_')}_${line}.ts`);
        examples.push({ file, where, code: body.slice(start, end).join('\n') + '\nexport {};\n' });
        i = end;
      }
    }
  }
  // The README's TypeScript blocks compile too.
  const readme = join(root, 'README.md');
  const lines = readFileSync(readme, 'utf8').split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!/^```ts\s*$/.test(lines[i])) continue;
    let end = i + 1;
    while (end < lines.length && !lines[end].startsWith('```')) end++;
    examples.push({ file: join(root, '.doc-examples', `README_md_${i + 2}.ts`), where: `README.md:${i + 2}`, code: lines.slice(i + 1, end).join('\n') + '\nexport {};\n' });
    i = end;
  }
  return examples;
}

/** A program over src/ and the given virtual files, with the package names mapped to src. */
export function createProgram(virtualFiles: Map<string, string>, oldProgram?: ts.Program): ts.Program {
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
    types: ['node'],
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    esModuleInterop: true,
    resolveJsonModule: true,
    baseUrl: root,
    paths: { memprims: ['src/index.ts'], 'memprims/arbitraries': ['src/arbitraries/index.ts'] },
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, version, onError, create) => {
    const code = virtualFiles.get(name);
    return code !== undefined ? ts.createSourceFile(name, code, version, true) : getSourceFile(name, version, onError, create);
  };
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => virtualFiles.has(name) || fileExists(name);
  const readFile = host.readFile.bind(host);
  host.readFile = (name) => virtualFiles.get(name) ?? readFile(name);
  return ts.createProgram([join(src, 'index.ts'), join(src, 'arbitraries', 'index.ts'), ...virtualFiles.keys()], options, host, oldProgram);
}

export function formatDiagnostic(d: ts.Diagnostic): string {
  const message = ts.flattenDiagnosticMessageText(d.messageText, '\n');
  if (!d.file || d.start === undefined) return message;
  const { line } = d.file.getLineAndCharacterOfPosition(d.start);
  return `line ${line + 1}: ${message}`;
}
