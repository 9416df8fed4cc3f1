#!/usr/bin/env python3
"""Stamps Flink's recorded answers with the corpus they answer.

Usage: stamp.py RAW_RESULTS.json   (the output of run_flink.py: {name: {...}})
Writes flink_results.json = {"corpus_sha256": sha256(ddl.sql NUL queries.sql NUL gen_data.py),
"results": RAW}. tests/differential.rs refuses results whose hash is not the corpus's.
"""
import hashlib
import json
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
parts = [open(os.path.join(here, f), encoding="utf-8").read() for f in ("ddl.sql", "queries.sql", "gen_data.py")]
digest = hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()
raw = json.load(open(sys.argv[1], encoding="utf-8"))
raw = raw.get("results", raw)
with open(os.path.join(here, "flink_results.json"), "w", encoding="utf-8") as f:
    json.dump({"corpus_sha256": digest, "results": raw}, f, indent=1, sort_keys=True, ensure_ascii=False)
    f.write("\n")
print(digest, len(raw), "results")
