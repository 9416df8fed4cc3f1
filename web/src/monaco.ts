// Monaco from the bundle (no CDN): the editor worker, a Flink SQL language, completion of
// keywords, types, and tables/columns from the script's DDL plus registered datasources.
import * as monaco from "monaco-editor";
import editorWorker from "monaco-editor/esm/vs/editor/editor.worker?worker";
import { loader } from "@monaco-editor/react";
import { FLINK_KEYWORDS, FLINK_TYPES, tablesFromDdl } from "./sql";

(self as any).MonacoEnvironment = { getWorker: () => new editorWorker() };
loader.config({ monaco });

/** A datasource table offered by completion. */
export type DatasourceTable = { table: string; datasource: string };

/**
 * Tables offered by the project's datasources. `loaded` settles when the studio has fetched
 * them; completion waits for it (at most 5 s) so a suggestion asked for while the list is
 * still loading is not computed without it.
 */
export const extraTables: { names: DatasourceTable[]; loaded: Promise<void> } = {
  names: [],
  loaded: Promise.resolve(),
};

monaco.languages.register({ id: "flinksql" });
monaco.languages.setMonarchTokensProvider("flinksql", {
  ignoreCase: true,
  keywords: FLINK_KEYWORDS.map((k) => k.toLowerCase()),
  typeKeywords: FLINK_TYPES.map((k) => k.toLowerCase()),
  tokenizer: {
    root: [
      [/--.*$/, "comment"],
      [/\/\*/, "comment", "@comment"],
      [/'([^']|'')*'/, "string"],
      [/`[^`]*`/, "identifier"],
      [/\d+(\.\d+)?/, "number"],
      [/[a-zA-Z_]\w*/, { cases: { "@keywords": "keyword", "@typeKeywords": "type", "@default": "identifier" } }],
    ],
    comment: [
      [/\*\//, "comment", "@pop"],
      [/./, "comment"],
    ],
  },
} as any);

monaco.languages.registerCompletionItemProvider("flinksql", {
  triggerCharacters: ["."],
  async provideCompletionItems(model, position) {
    const deadline = new Promise((r) => setTimeout(r, 5000));
    // A list being replaced settles the old promise; wait for the one that is current.
    for (let seen = null as Promise<void> | null; seen !== extraTables.loaded; ) {
      seen = extraTables.loaded;
      if ((await Promise.race([seen.then(() => true), deadline])) !== true) break;
    }
    const word = model.getWordUntilPosition(position);
    const range = {
      startLineNumber: position.lineNumber,
      endLineNumber: position.lineNumber,
      startColumn: word.startColumn,
      endColumn: word.endColumn,
    };
    const K = monaco.languages.CompletionItemKind;
    const tables = tablesFromDdl(model.getValue());
    const items: monaco.languages.CompletionItem[] = [];
    for (const [t, cols] of Object.entries(tables)) {
      items.push({ label: t, kind: K.Struct, insertText: t, range, detail: "table" });
      for (const c of cols) items.push({ label: c, kind: K.Field, insertText: c, range, detail: `${t}.${c}` });
    }
    for (const d of extraTables.names)
      items.push({ label: d.table, kind: K.Module, insertText: d.table, range, detail: `datasource ${d.datasource}` });
    for (const k of FLINK_KEYWORDS) items.push({ label: k, kind: K.Keyword, insertText: k, range });
    for (const k of FLINK_TYPES) items.push({ label: k, kind: K.TypeParameter, insertText: k, range });
    return { suggestions: items };
  },
});

(window as any).scalephMonaco = monaco;

export { monaco };
