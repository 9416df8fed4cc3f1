#!/usr/bin/env python3
"""Deterministic TPC-H SF 0.01 data for the Flink differential-test corpus.

Usage: gen_data.py OUTPUT_DIR

Generates the 8 TPC-H tables with `tpchgen-cli` (PyPI package `tpchgen-cli`,
a Rust port of dbgen that produces byte-identical output to dbgen for a
given scale factor) and converts its pipe-delimited .tbl output to headerless
CSV (',' delimiter, '"' quoting only where needed, '\n' line endings):

    OUTPUT_DIR/<table>/part-0.csv

Dates are YYYY-MM-DD and decimals are plain text as dbgen writes them.
Also writes the hand-written OUTPUT_DIR/nulls/part-0.csv (NULL = literal NULL).
Same bytes every run.
"""
import csv
import io
import os
import shutil
import subprocess
import sys
import tempfile

SF = "0.01"
TABLES = ["region", "nation", "supplier", "customer", "part", "partsupp",
          "orders", "lineitem"]

# id, s, d, n, dt, b   -- every NULL is written as the text NULL
NULLS_ROWS = [
    ["1", "a", "1.5", "10.25", "2024-01-01", "true"],
    ["2", "NULL", "2.25", "NULL", "2024-02-29", "false"],
    ["3", "b", "NULL", "-3.10", "NULL", "NULL"],
    ["4", "NULL", "NULL", "NULL", "NULL", "NULL"],
    ["5", "a", "-0.5", "0.00", "1999-12-31", "true"],
    ["6", "c", "100.0", "99999999.99", "2000-01-01", "NULL"],
    ["7", "", "0.0", "1.01", "2024-01-01", "false"],
    ["NULL", "d", "3.75", "5.50", "2023-06-15", "true"],
    ["NULL", "NULL", "NULL", "NULL", "NULL", "NULL"],
    ["10", "b", "2.25", "-0.01", "2023-06-15", "false"],
    ["11", "NULL", "7.0", "12.30", "1970-01-01", "true"],
    ["12", "e", "NULL", "12.30", "2024-12-31", "NULL"],
]


def find_tpchgen():
    cand = os.path.join(os.path.dirname(sys.executable), "tpchgen-cli")
    if os.path.exists(cand):
        return cand
    found = shutil.which("tpchgen-cli")
    if not found:
        sys.exit("tpchgen-cli not found: pip install tpchgen-cli==4.0.0")
    return found


def write_csv(path, rows):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=",", quotechar='"',
                   quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
    for r in rows:
        w.writerow(r)
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(buf.getvalue())


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    exe = find_tpchgen()
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([exe, "tbl", "-s", SF, "-o", tmp], check=True)
        for t in TABLES:
            rows = []
            with open(os.path.join(tmp, t + ".tbl"), encoding="utf-8") as f:
                for line in f:
                    line = line.rstrip("\n")
                    assert line.endswith("|"), line
                    rows.append(line[:-1].split("|"))
            write_csv(os.path.join(out, t, "part-0.csv"), rows)
            print(f"{t}: {len(rows)} rows")
    write_csv(os.path.join(out, "nulls", "part-0.csv"), NULLS_ROWS)
    print(f"nulls: {len(NULLS_ROWS)} rows")


if __name__ == "__main__":
    main()
