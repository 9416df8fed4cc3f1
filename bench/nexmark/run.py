"""Nexmark on the embedded engine and on Flink 2.3, side by side, in one run.

The events are generated once by the `nexmark` connector and written as JSON lines; both
engines then read that file in streaming mode with the same table definition (ddl.sql:
computed event time, `WATERMARK ... - INTERVAL '4' SECOND`) and run each query into a
`blackhole` sink, with parallelism 1. For each engine and query it reports:

- events/s per core: events / the job's wall time at parallelism 1 (one instance of each
  operator; a source may run in a task apart from keyed operators on both engines);
- CPU seconds of the whole process tree (JVM or scaleph, start-up included);
- peak RSS of the process tree (sampled every 50 ms from /proc);
- the same script over an empty input (unless --no-fixed): the job's fixed cost (planning,
  deployment, teardown; for Flink its mini cluster's job start), so that the report also gives
  throughput net of it: events / (job seconds - empty-input seconds), and events per CPU second
  net of the empty-input run's CPU seconds.

Usage (from the repository root, after `cargo build --release -p scaleph`):
    python3 bench/nexmark/run.py [--events N] [--queries q0,q1] [--skip-flink]
Writes bench/nexmark/results.json (results-N.json for another --events N) and prints Markdown
tables.
"""
import argparse
import glob
import json
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FLINK_VERSION = "2.3.0"
FLINK = os.path.expanduser(f"~/.cache/scaleph-flink/{FLINK_VERSION}")
VENV = os.path.expanduser("~/.cache/scaleph-bench-venv")
PAGE = os.sysconf("SC_PAGE_SIZE")
TICK = os.sysconf("SC_CLK_TCK")


def setup_flink():
    """PyFlink from the PyPI wheels (unzipped, as scripts/flink-cluster.sh does) and a venv with
    its Python dependencies."""
    if not os.path.isdir(os.path.join(FLINK, "pyflink")):
        wheels = os.path.join(FLINK, "wheels")
        os.makedirs(wheels, exist_ok=True)
        subprocess.check_call([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                               "-d", wheels, f"apache-flink=={FLINK_VERSION}",
                               f"apache-flink-libraries=={FLINK_VERSION}"])
        for w in glob.glob(os.path.join(wheels, "*.whl")):
            subprocess.check_call([sys.executable, "-m", "zipfile", "-e", w, FLINK])
        for b in glob.glob(os.path.join(FLINK, "pyflink", "bin", "*")):
            os.chmod(b, 0o755)
    marker = os.path.join(VENV, ".pyflink-deps")
    if not os.path.exists(marker):
        subprocess.check_call([sys.executable, "-m", "venv", VENV])
        subprocess.check_call([os.path.join(VENV, "bin", "pip"), "install", "--quiet",
                               "py4j==0.10.9.7", "cloudpickle", "python-dateutil", "pytz",
                               "ruamel.yaml", "typing_extensions", "tzdata"])
        open(marker, "w").close()


def tree(pid):
    """pid and its descendants."""
    kids = {}
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open(f"/proc/{p}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                kids.setdefault(ppid, []).append(int(p))
            except OSError:
                pass
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def measure(cmd, env=None):
    """Runs cmd; returns (stdout, peak RSS bytes of its process tree, CPU seconds of the tree)."""
    with tempfile.TemporaryFile() as out:
        p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
        peak, cpu = 0, {}
        while p.poll() is None:
            rss = 0
            for q in tree(p.pid):
                try:
                    with open(f"/proc/{q}/statm") as f:
                        rss += int(f.read().split()[1]) * PAGE
                    with open(f"/proc/{q}/stat") as f:
                        fields = f.read().rsplit(")", 1)[1].split()
                        cpu[q] = (int(fields[11]) + int(fields[12])) / TICK
                except OSError:
                    pass
            peak = max(peak, rss)
            time.sleep(0.05)
        out.seek(0)
        text = out.read().decode(errors="replace")
        if p.returncode != 0:
            raise RuntimeError(f"{cmd[0]} failed ({p.returncode}):\n{text[-2000:]}")
        return text, peak, sum(cpu.values())


def run_embedded(scaleph, path, n):
    """One `scaleph sql run` of path: its job seconds, CPU seconds and peak RSS."""
    text, rss, cpu = measure([scaleph, "sql", "run", "--parallelism", "1", path])
    secs = float(re.findall(r"FINISHED in ([0-9.]+)s", text)[-1])
    return {"seconds": secs, "events_per_second_per_core": n / secs,
            "cpu_seconds": cpu, "peak_rss_mb": rss / 2**20}


def run_flink(path, n):
    """One PyFlink mini-cluster run of path (flink_run.py), or {"error": ...}."""
    env = dict(os.environ, PYTHONPATH=FLINK, FLINK_HOME=os.path.join(FLINK, "pyflink"),
               _python_worker_execution_mode="process")
    try:
        text, rss, cpu = measure([os.path.join(VENV, "bin", "python"),
                                  os.path.join(HERE, "flink_run.py"), path], env)
    except RuntimeError as e:
        return {"error": str(e).splitlines()[-1][:300]}
    secs = float(re.findall(r"JOB_SECONDS ([0-9.]+)", text)[-1])
    return {"seconds": secs, "events_per_second_per_core": n / secs,
            "cpu_seconds": cpu, "peak_rss_mb": rss / 2**20}


def statements(path):
    text = "\n".join(l for l in open(path).read().splitlines() if not l.strip().startswith("--"))
    return [s.strip() for s in text.split(";") if s.strip()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--queries", default="")
    ap.add_argument("--skip-flink", action="store_true")
    ap.add_argument("--no-fixed", action="store_true", help="skip the empty-input runs")
    ap.add_argument("--scaleph", default=os.path.join(
        os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release", "scaleph"))
    a = ap.parse_args()
    n = a.events
    data = os.path.join(ROOT, "bench-data", "nexmark", f"events-{n}")
    work = tempfile.mkdtemp(prefix="nexmark-")
    ddl = open(os.path.join(HERE, "ddl.sql")).read()
    if not os.path.isdir(data) or not os.listdir(data):
        gen = ddl.replace("${CONNECTOR}", (
            "'connector' = 'nexmark', 'events.num' = '%d', "
            "'first-event.rate' = '10000000', 'next-event.rate' = '10000000'" % n))
        gen = "SET 'execution.runtime-mode' = 'batch';\n" + gen + f"""
CREATE TABLE events (event_type INT, person ROW<id BIGINT, name VARCHAR, emailAddress VARCHAR,
  creditCard VARCHAR, city VARCHAR, state VARCHAR, dateTime TIMESTAMP(3), extra VARCHAR>,
  auction ROW<id BIGINT, itemName VARCHAR, description VARCHAR, initialBid BIGINT,
  reserve BIGINT, dateTime TIMESTAMP(3), expires TIMESTAMP(3), seller BIGINT,
  category BIGINT, extra VARCHAR>, bid ROW<auction BIGINT, bidder BIGINT, price BIGINT,
  channel VARCHAR, url VARCHAR, dateTime TIMESTAMP(3), extra VARCHAR>)
WITH ('connector' = 'filesystem', 'path' = '{data}', 'format' = 'json');
INSERT INTO events SELECT event_type, person, auction, bid FROM nexmark;
"""
        path = os.path.join(work, "gen.sql")
        open(path, "w").write(gen)
        print(f"generating {n} events into {data}", flush=True)
        subprocess.check_call([a.scaleph, "sql", "run", path], stdout=subprocess.DEVNULL)
    source = ddl.replace("${CONNECTOR}", (
        f"'connector' = 'filesystem', 'path' = '{data}', 'format' = 'json'"))
    empty = os.path.join(work, "empty")
    os.makedirs(empty)
    open(os.path.join(empty, "part-0.json"), "w").close()
    if not a.skip_flink:
        setup_flink()
    # Read the events once, so that the first job (q0 on the embedded engine) does not pay
    # for bringing the file from disk into the page cache while every later one finds it there.
    for f in glob.glob(os.path.join(data, "*")):
        with open(f, "rb") as fh:
            while fh.read(1 << 24):
                pass
    wanted = [q for q in a.queries.split(",") if q]
    queries = sorted(glob.glob(os.path.join(HERE, "q*.sql")),
                     key=lambda p: int(re.findall(r"\d+", os.path.basename(p))[0]))
    results = {}
    for qpath in queries:
        q = os.path.basename(qpath)[:-4]
        if wanted and q not in wanted:
            continue
        stmts = statements(qpath)
        prelude, select = stmts[:-1], stmts[-1]
        # The sink's columns are the query's, as the embedded engine's validation reports them.
        probe = os.path.join(work, f"{q}-probe.sql")
        open(probe, "w").write(source + "\n" + ";\n".join(prelude + [select]) + ";\n")
        report = json.loads(subprocess.check_output([a.scaleph, "sql", "validate", "--json", probe]))
        cols = ", ".join(f"`{c['name']}` {c['type']}" for c in report["query_schema"])
        script = (source + "\n" + "".join(s + ";\n" for s in prelude)
                  + f"CREATE TABLE sink ({cols}) WITH ('connector' = 'blackhole');\n"
                  + f"INSERT INTO sink {select};\n")
        path = os.path.join(work, f"{q}.sql")
        open(path, "w").write(script)
        row = {}
        row["embedded"] = run_embedded(a.scaleph, path, n)
        if not a.skip_flink:
            row["flink"] = run_flink(path, n)
        if not a.no_fixed:
            # The same job over an empty input: its fixed cost.
            zero = os.path.join(work, f"{q}-empty.sql")
            open(zero, "w").write(script.replace(data, empty))
            fixed = {"embedded": run_embedded(a.scaleph, zero, 0)}
            if not a.skip_flink:
                fixed["flink"] = run_flink(zero, 0)
            for eng, f in fixed.items():
                r = row[eng]
                if "seconds" in r and "seconds" in f:
                    r["fixed_seconds"] = f["seconds"]
                    r["fixed_cpu_seconds"] = f["cpu_seconds"]
                    r["net_events_per_second"] = n / max(r["seconds"] - f["seconds"], 1e-3)
                    r["net_events_per_cpu_second"] = n / max(r["cpu_seconds"] - f["cpu_seconds"], 1e-3)
        results[q] = row
        print(q, json.dumps(row), flush=True)
    out = {"events": n, "parallelism": 1, "queries": results}
    name = "results.json" if n == 1_000_000 else f"results-{n}.json"
    json.dump(out, open(os.path.join(HERE, name), "w"), indent=1)
    print()
    print("| query | embedded ev/s/core | Flink ev/s/core | × | embedded peak RSS MB | Flink peak RSS MB | Flink ÷ embedded |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for q, r in results.items():
        e, f = r["embedded"], r.get("flink", {})
        if "events_per_second_per_core" in f:
            print(f"| {q} | {e['events_per_second_per_core']:,.0f} | {f['events_per_second_per_core']:,.0f} "
                  f"| {e['events_per_second_per_core'] / f['events_per_second_per_core']:.1f} "
                  f"| {e['peak_rss_mb']:.0f} | {f['peak_rss_mb']:.0f} | {f['peak_rss_mb'] / e['peak_rss_mb']:.1f} |")
        else:
            print(f"| {q} | {e['events_per_second_per_core']:,.0f} | {f.get('error', '—')} | | "
                  f"{e['peak_rss_mb']:.0f} | | |")
    print()
    print("| query | embedded / Flink empty-input s | net ev/s embedded | net ev/s Flink | net × "
          "| net ev/CPU-s embedded | net ev/CPU-s Flink | net CPU × |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for q, r in results.items():
        e, f = r["embedded"], r.get("flink", {})
        if "net_events_per_second" in e and "net_events_per_second" in f:
            print(f"| {q} | {e['fixed_seconds']:.2f} / {f['fixed_seconds']:.2f} "
                  f"| {e['net_events_per_second']:,.0f} | {f['net_events_per_second']:,.0f} "
                  f"| {e['net_events_per_second'] / f['net_events_per_second']:.1f} "
                  f"| {e['net_events_per_cpu_second']:,.0f} | {f['net_events_per_cpu_second']:,.0f} "
                  f"| {e['net_events_per_cpu_second'] / f['net_events_per_cpu_second']:.1f} |")


if __name__ == "__main__":
    main()
