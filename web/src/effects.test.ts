// React calls whatever an effect callback returns as its cleanup when the effect re-runs or the
// component unmounts; anything that is neither a function nor undefined makes React throw and the
// error boundary replace the page. The DOM's typings hide such values: `el.scrollIntoView()` is
// typed `void`, yet Chromium (since its promise-returning scroll methods) returns a Promise, which
// is what crashed the job-instance page. This test reads the UI's sources with the TypeScript
// checker and fails on every effect whose callback may return something other than a function.
import ts from "typescript";
import { describe, expect, it } from "vitest";

const EFFECT_HOOKS = new Set(["useEffect", "useLayoutEffect", "useInsertionEffect"]);

/** Name of a called hook: `useEffect(…)` or `React.useEffect(…)`. */
function calleeName(e: ts.Expression): string | undefined {
  if (ts.isIdentifier(e)) return e.text;
  if (ts.isPropertyAccessExpression(e)) return e.name.text;
  return undefined;
}

/** The expressions a function literal returns (its own `return`s, not nested functions'). */
function returned(fn: ts.ArrowFunction | ts.FunctionExpression): ts.Expression[] {
  if (!ts.isBlock(fn.body)) return [fn.body];
  const out: ts.Expression[] = [];
  const visit = (n: ts.Node) => {
    if (ts.isFunctionLike(n) || ts.isClassLike(n)) return;
    if (ts.isReturnStatement(n) && n.expression) out.push(n.expression);
    ts.forEachChild(n, visit);
  };
  visit(fn.body);
  return out;
}

/** Whether a value of `type` is always undefined or a function (`void` is neither: it hides
 * whatever the callee really returns). */
function cleanupType(type: ts.Type): boolean {
  const parts = type.isUnion() ? type.types : [type];
  return parts.every((t) => t.flags & ts.TypeFlags.Undefined || t.getCallSignatures().length > 0);
}

/** `file:line:column: problem` for every effect callback in `files` that may return something
 * other than a cleanup function or undefined. */
function effectProblems(program: ts.Program, files: readonly string[]): string[] {
  const checker = program.getTypeChecker();
  const problems: string[] = [];
  for (const file of files) {
    const sf = program.getSourceFile(file);
    if (!sf) throw new Error(`${file} is not in the program`);
    const report = (n: ts.Node, what: string) => {
      const { line, character } = sf.getLineAndCharacterOfPosition(n.getStart(sf));
      problems.push(`${file.split("/").pop()}:${line + 1}:${character + 1}: ${what}`);
    };
    const visit = (n: ts.Node) => {
      if (ts.isCallExpression(n) && EFFECT_HOOKS.has(calleeName(n.expression) ?? "") && n.arguments.length > 0) {
        const cb = n.arguments[0];
        if (ts.isArrowFunction(cb) || ts.isFunctionExpression(cb)) {
          if (cb.modifiers?.some((m) => m.kind === ts.SyntaxKind.AsyncKeyword)) {
            report(cb, "async effect callback (returns a promise)");
          } else {
            for (const r of returned(cb)) {
              if (ts.isArrowFunction(r) || ts.isFunctionExpression(r) || ts.isVoidExpression(r)) continue;
              if (!cleanupType(checker.getTypeAtLocation(r))) {
                report(r, `effect returns \`${r.getText(sf)}\`, which is not a cleanup function`);
              }
            }
          }
        } else {
          const sig = checker.getTypeAtLocation(cb).getCallSignatures()[0];
          if (!sig || !cleanupType(checker.getReturnTypeOfSignature(sig))) {
            report(cb, `effect callback \`${cb.getText(sf)}\` may return something other than a cleanup function`);
          }
        }
      }
      ts.forEachChild(n, visit);
    };
    visit(sf);
  }
  return problems;
}

/** The UI's program as `tsc` sees it (web/tsconfig.json). */
function uiProgram(): ts.Program {
  const web = decodeURIComponent(new URL("..", import.meta.url).pathname);
  const config = ts.readConfigFile(`${web}tsconfig.json`, ts.sys.readFile);
  if (config.error) throw new Error(ts.flattenDiagnosticMessageText(config.error.messageText, "\n"));
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, web);
  return ts.createProgram(parsed.fileNames, parsed.options);
}

describe("effect callbacks", () => {
  it("return only cleanup functions or nothing, in every UI source file", () => {
    const program = uiProgram();
    const files = program.getRootFileNames().filter((f) => !/\.test\.tsx?$/.test(f));
    expect(files.some((f) => f.endsWith("JobDetail.tsx"))).toBe(true);
    expect(effectProblems(program, files)).toEqual([]);
  }, 120_000);

  it("reports the patterns that crash a page", () => {
    const file = "/fixture/fixture.tsx";
    const source = `declare function useEffect(cb: () => void | (() => void), deps?: unknown[]): void;
declare const el: { scrollIntoView(): void } | null;
declare const es: { close(): void };
declare function load(): Promise<void>;
const stop = () => es.close();
const scroll = () => el?.scrollIntoView();
useEffect(() => el?.scrollIntoView(), []);
useEffect(async () => { await load(); }, []);
useEffect(() => { return load(); }, []);
useEffect(() => { if (el) return es.close(); }, []);
useEffect(scroll, []);
useEffect(() => { el?.scrollIntoView(); }, []);
useEffect(() => () => es.close(), []);
useEffect(() => { const f = () => 1; f(); return stop; }, []);
useEffect(() => { if (!el) return; return undefined; }, []);
useEffect(() => void load(), []);
useEffect(stop, []);
`;
    const options = { strict: true, noEmit: true };
    const host = ts.createCompilerHost(options);
    const libSource = host.getSourceFile;
    host.getSourceFile = (name, lang, ...rest) =>
      name === file ? ts.createSourceFile(name, source, lang, true) : libSource(name, lang, ...rest);
    const program = ts.createProgram([file], options, host);
    expect(effectProblems(program, [file]).map((p) => p.split(": ")[0])).toEqual([
      "fixture.tsx:7:17",
      "fixture.tsx:8:11",
      "fixture.tsx:9:26",
      "fixture.tsx:10:34",
      "fixture.tsx:11:11",
      "fixture.tsx:17:11",
    ]);
  });
});
