#!/usr/bin/env python3
"""Run every query of queries.sql on Flink (PyFlink, batch mode) and record results.

Usage: run_flink.py [--data DIR] [--out FILE] [--only name1,name2,...]

Writes {name: {"columns": [type...], "rows": [[v...]...]}} or {name: {"error": "..."}}.
With --only, the named entries are (re)computed and merged into an existing --out file.
"""
import argparse
import json
import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def parse_queries(path):
    text = open(path, encoding="utf-8").read()
    out = []
    parts = re.split(r"^-- name: *(\S+) *$", text, flags=re.M)
    for i in range(1, len(parts), 2):
        name, body = parts[i], parts[i + 1]
        lines = [l for l in body.splitlines() if not l.strip().startswith("--")]
        sql = "\n".join(lines).strip()
        assert sql.endswith(";"), name
        sql = sql[:-1].strip()
        out.append((name, sql))
    names = [n for n, _ in out]
    dup = {n for n in names if names.count(n) > 1}
    assert not dup, dup
    return out


def parse_ddl(path, data):
    text = open(path, encoding="utf-8").read().replace("${DATA}", data)
    text = "\n".join(l for l in text.splitlines() if not l.strip().startswith("--"))
    return [s.strip() for s in text.split(";") if s.strip()]


def err_text(e):
    s = str(e)
    lines = [l for l in s.splitlines() if l.strip()]
    first = lines[0] if lines else repr(e)
    for l in lines:
        if l.startswith(": "):
            first = l[2:]
            break
    return first.strip()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(HERE, "data"))
    ap.add_argument("--out", default=os.path.join(HERE, "flink_results.json"))
    ap.add_argument("--queries", default=os.path.join(HERE, "queries.sql"))
    ap.add_argument("--only", default=None)
    args = ap.parse_args()

    from pyflink.table import EnvironmentSettings, TableEnvironment
    from pyflink.java_gateway import get_gateway
    from py4j.java_gateway import JavaObject
    from py4j.java_collections import JavaArray, JavaList

    t_env = TableEnvironment.create(EnvironmentSettings.in_batch_mode())
    conf = t_env.get_config()
    conf.set("table.local-time-zone", "UTC")
    conf.set("parallelism.default", "1")
    jvm = get_gateway().jvm
    for stmt in parse_ddl(os.path.join(HERE, "ddl.sql"), os.path.abspath(args.data)):
        t_env.execute_sql(stmt)

    def conv(v, dtype):
        """Convert one external (Java) value of logical type `dtype` to JSON."""
        if v is None:
            return None
        name = dtype.getLogicalType().getTypeRoot().name()
        if name in ("BOOLEAN",):
            return bool(v)
        if name in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT"):
            return int(v if not isinstance(v, JavaObject) else v.longValue())
        if name == "DOUBLE":
            return float(v)
        if name == "FLOAT":
            return _f32(float(v if not isinstance(v, JavaObject) else v.doubleValue()))
        if name == "DECIMAL":
            # py4j hands BigDecimal over as decimal.Decimal (exact); 'f' = toPlainString
            return format(v, "f") if not isinstance(v, JavaObject) else str(v.toPlainString())
        if name in ("CHAR", "VARCHAR"):
            return str(v)
        if name == "DATE":
            return v.toString()
        if name == "TIME_WITHOUT_TIME_ZONE":
            return str(jvm.java.time.format.DateTimeFormatter.ofPattern("HH:mm:ss").format(v)) + _frac(v.getNano())
        if name in ("TIMESTAMP_WITHOUT_TIME_ZONE", "TIMESTAMP_WITH_LOCAL_TIME_ZONE"):
            if name == "TIMESTAMP_WITH_LOCAL_TIME_ZONE":
                v = jvm.java.time.LocalDateTime.ofInstant(v, jvm.java.time.ZoneOffset.UTC)
            s = str(jvm.java.time.format.DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss").format(v))
            return s + _frac(v.getNano())
        if name in ("ARRAY", "MULTISET", "MAP", "ROW"):
            if name == "ARRAY":
                et = dtype.getChildren().get(0)
                return [conv(x, et) for x in v]
            return str(v.toString()) if isinstance(v, JavaObject) else str(v)
        if isinstance(v, (bytes, bytearray)):
            return v.hex()
        return str(v.toString()) if isinstance(v, JavaObject) else v

    queries = parse_queries(args.queries)
    only = set(args.only.split(",")) if args.only else None
    results = {}
    if only and os.path.exists(args.out):
        results = json.load(open(args.out))
    t0 = time.time()
    for name, sql in queries:
        if only and name not in only:
            continue
        t1 = time.time()
        try:
            tbl = t_env.sql_query(sql)
            cols = list(tbl._j_table.getResolvedSchema().getColumns())
            dtypes = [c.getDataType() for c in cols]
            types = [str(d.toString()) for d in dtypes]
            it = tbl.execute()._j_table_result.collect()
            rows = []
            try:
                while it.hasNext():
                    r = it.next()
                    rows.append([conv(r.getField(i), dtypes[i]) for i in range(len(dtypes))])
            finally:
                it.close()
            results[name] = {"columns": types, "rows": rows}
            msg = f"{len(rows)} rows"
        except Exception as e:  # noqa: BLE001
            results[name] = {"error": err_text(e)}
            msg = "ERROR " + results[name]["error"][:300]
        print(f"{name}: {msg} ({time.time() - t1:.1f}s)", flush=True)
    # keep queries.sql order
    order = [n for n, _ in queries]
    results = {n: results[n] for n in order if n in results}
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(results, f, indent=1, ensure_ascii=False)
        f.write("\n")
    ok = sum(1 for v in results.values() if "error" not in v)
    print(f"queries={len(results)} ok={ok} errors={len(results) - ok} "
          f"time={time.time() - t0:.0f}s", flush=True)


def _f32(x):
    """Shortest decimal that round-trips to the same float32 (like Float.toString)."""
    import struct
    if x != x or x in (float("inf"), float("-inf")):
        return x
    want = struct.pack("f", x)
    for p in range(1, 10):
        c = float("%.*g" % (p, x))
        if struct.pack("f", c) == want:
            return c
    return x


def _frac(nanos):
    if not nanos:
        return ""
    return "." + f"{nanos:09d}".rstrip("0")


if __name__ == "__main__":
    main()
