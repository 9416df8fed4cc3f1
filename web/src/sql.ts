// Pure helpers of the SQL studio (unit-tested with Vitest).

export interface Marker {
  startLineNumber: number;
  startColumn: number;
  endLineNumber: number;
  endColumn: number;
  message: string;
}

/** The editor marker for an API error with `line`/`column` (1-based): underlines the word at
 * that position (or one character). */
export function markerAt(script: string, line: number, column: number, message: string): Marker {
  const text = script.split("\n")[line - 1] ?? "";
  let end = column;
  while (end <= text.length && /[\w.$]/.test(text[end - 1] ?? "")) end++;
  if (end === column) end = column + 1;
  return { startLineNumber: line, startColumn: column, endLineNumber: line, endColumn: end, message };
}

/** Tables and their columns declared by `CREATE TABLE name (col TYPE, …)` in a script, for
 * completion. Constraint and watermark clauses are skipped. */
export function tablesFromDdl(script: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const re = /create\s+(?:temporary\s+)?table\s+(?:if\s+not\s+exists\s+)?`?([\w.]+)`?\s*\(/gi;
  let m: RegExpExecArray | null;
  while ((m = re.exec(script))) {
    let depth = 1;
    let i = re.lastIndex;
    const start = i;
    while (i < script.length && depth > 0) {
      if (script[i] === "(") depth++;
      else if (script[i] === ")") depth--;
      i++;
    }
    const body = script.slice(start, i - 1);
    const cols: string[] = [];
    for (const part of splitTop(body)) {
      const p = part.trim();
      if (!p || /^(primary|watermark|constraint|period)\b/i.test(p)) continue;
      const name = p.match(/^`?(\w+)`?/);
      if (name) cols.push(name[1]);
    }
    out[m[1]] = cols;
  }
  return out;
}

/** Splits on commas outside parentheses and angle brackets. */
function splitTop(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let cur = "";
  for (const ch of s) {
    if (ch === "(" || ch === "<") depth++;
    if (ch === ")" || ch === ">") depth--;
    if (ch === "," && depth === 0) {
      parts.push(cur);
      cur = "";
    } else cur += ch;
  }
  parts.push(cur);
  return parts;
}

/** Flink SQL keywords for highlighting and completion. */
export const FLINK_KEYWORDS = (
  "SELECT FROM WHERE GROUP BY HAVING ORDER LIMIT INSERT INTO OVERWRITE VALUES CREATE TABLE VIEW " +
  "TEMPORARY IF NOT EXISTS WITH AS AND OR IN IS NULL LIKE BETWEEN CASE WHEN THEN ELSE END JOIN LEFT " +
  "RIGHT FULL INNER OUTER ON UNION ALL DISTINCT SET RESET EXECUTE STATEMENT BEGIN PRIMARY KEY ENFORCED " +
  "WATERMARK FOR PARTITIONED PARTITION CAST INTERVAL TUMBLE HOP CUMULATE DESCRIPTOR LATERAL OVER"
).split(" ");

export const FLINK_TYPES = (
  "STRING VARCHAR CHAR BOOLEAN TINYINT SMALLINT INT INTEGER BIGINT FLOAT DOUBLE DECIMAL DATE TIME " +
  "TIMESTAMP TIMESTAMP_LTZ BYTES ARRAY MAP ROW"
).split(" ");
