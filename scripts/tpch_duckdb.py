#!/usr/bin/env python3
"""TPC-H reference results and timings from DuckDB, for scaleph's tests and benchmarks.

Usage: tpch_duckdb.py DATA_DIR QUERIES_JSON OUT_JSON [--repeat N] [--threads N]
       tpch_duckdb.py DATA_DIR QUERIES_JSON --serve [--threads N]

QUERIES_JSON is a list of {"name", "views": [[name_with_columns, select]], "sql"} (written by
scaleph's test/bench from scaleph_tpch::QUERIES). OUT_JSON receives
{name: {"rows": [[...]], "seconds": [...]}}: decimals as floats, dates as ISO strings.
With --serve, each query name read from stdin is run once and its time in seconds is printed
on its own line (the benchmark interleaves DuckDB and scaleph query by query this way).
"""
import datetime
import decimal
import json
import sys
import time

import duckdb

TABLES = ["nation", "region", "part", "supplier", "customer", "partsupp", "orders", "lineitem"]


def value(v):
    if isinstance(v, decimal.Decimal):
        return float(v)
    if isinstance(v, (datetime.date, datetime.datetime)):
        return v.isoformat()
    return v


def main() -> None:
    data, queries_path, out_path = sys.argv[1:4]
    serve = out_path == "--serve"
    repeat = int(sys.argv[sys.argv.index("--repeat") + 1]) if "--repeat" in sys.argv else 1
    threads = int(sys.argv[sys.argv.index("--threads") + 1]) if "--threads" in sys.argv else None
    con = duckdb.connect()
    if threads:
        con.execute(f"SET threads = {threads}")
    for t in TABLES:
        con.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet('{data}/{t}/*.parquet')")
    queries = json.load(open(queries_path))
    if serve:
        by_name = {q["name"]: q for q in queries}
        for line in sys.stdin:
            q = by_name[line.strip()]
            for name, body in q["views"]:
                con.execute(f"CREATE OR REPLACE VIEW {name} AS {body}")
            t0 = time.perf_counter()
            con.execute(q["sql"]).fetchall()
            print(time.perf_counter() - t0, flush=True)
        return
    out = {}
    for q in queries:
        for name, body in q["views"]:
            con.execute(f"CREATE OR REPLACE VIEW {name} AS {body}")
        seconds = []
        rows = None
        for _ in range(repeat):
            t0 = time.perf_counter()
            rows = con.execute(q["sql"]).fetchall()
            seconds.append(time.perf_counter() - t0)
        out[q["name"]] = {"rows": [[value(v) for v in r] for r in rows], "seconds": seconds}
    json.dump(out, open(out_path, "w"))


if __name__ == "__main__":
    main()
