"""Runs a Flink SQL script on a local Flink 2.3 (PyFlink's mini cluster) in streaming mode with
parallelism 1 and prints `JOB_SECONDS <s>`: the time from submitting the script's INSERT to its
end. SET lines apply configuration; the other statements run in order.

Usage: python3 flink_run.py SCRIPT.sql   (PYTHONPATH holds the unzipped apache-flink wheels)
"""
import sys
import time

from pyflink.table import EnvironmentSettings, TableEnvironment

env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
conf = env.get_config()
conf.set("parallelism.default", "1")
conf.set("table.local-time-zone", "UTC")
text = open(sys.argv[1]).read()
lines = [l for l in text.splitlines() if not l.strip().startswith("--")]
stmts = [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
for s in stmts[:-1]:
    if s.upper().startswith("SET "):
        k, v = [x.strip().strip("'") for x in s[4:].split("=", 1)]
        conf.set(k, v)
    else:
        env.execute_sql(s)
t0 = time.time()
env.execute_sql(stmts[-1]).wait()
print("JOB_SECONDS %.3f" % (time.time() - t0), flush=True)
