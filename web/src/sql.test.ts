import { describe, expect, it } from "vitest";
import { markerAt, tablesFromDdl } from "./sql";

describe("markerAt", () => {
  it("underlines the word at the reported position", () => {
    const script = "CREATE TABLE t (a INT);\nSELECT nope FROM t;";
    expect(markerAt(script, 2, 8, "unknown column")).toEqual({
      startLineNumber: 2,
      startColumn: 8,
      endLineNumber: 2,
      endColumn: 12,
      message: "unknown column",
    });
  });
  it("marks one character past the end of a line", () => {
    expect(markerAt("x", 1, 5, "m").endColumn).toBe(6);
  });
});

describe("tablesFromDdl", () => {
  it("finds tables and columns, skipping constraints and nested types", () => {
    const s = `CREATE TABLE orders (
      id BIGINT, customer STRING, items ARRAY<ROW<sku STRING, qty INT>>, ts TIMESTAMP(3),
      PRIMARY KEY (id) NOT ENFORCED,
      WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
    ) WITH ('connector' = 'datagen');
    create temporary table IF NOT EXISTS sink (n DECIMAL(10, 2)) with ('connector' = 'print');`;
    expect(tablesFromDdl(s)).toEqual({ orders: ["id", "customer", "items", "ts"], sink: ["n"] });
  });
});
