// The playground's TypeScript must typecheck against the library (esbuild bundles it without
// checking types).
import { join } from 'node:path';
import ts from 'typescript';
import { expect, it } from 'vitest';
import { root } from '../docs/doc-program.js';

it('playground/src typechecks', () => {
  const configPath = join(root, 'playground', 'tsconfig.json');
  const config = ts.readConfigFile(configPath, ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, join(root, 'playground'));
  const program = ts.createProgram(parsed.fileNames, { ...parsed.options, noEmit: true });
  // Only the playground's files are reported, so only they are checked (the checker still
  // resolves every src/ type they use); checking all of src/ again here would triple the time.
  const playgroundFiles = program.getSourceFiles().filter((f) => f.fileName.includes('/playground/'));
  const diagnostics = playgroundFiles.flatMap((f) => [...program.getSyntacticDiagnostics(f), ...program.getSemanticDiagnostics(f)]);
  const text = diagnostics.map((d) => `${d.file!.fileName.slice(root.length + 1)}:${d.file!.getLineAndCharacterOfPosition(d.start ?? 0).line + 1} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
  expect(parsed.fileNames.some((f) => f.endsWith('playground/src/main.ts'))).toBe(true);
  expect(text, text.join('\n')).toEqual([]);
});
