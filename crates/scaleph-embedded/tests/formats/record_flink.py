#!/usr/bin/env python3
"""Run script.sql on Flink 2.3 (PyFlink, local) and record every sink's files in expected.json.

Usage: record_flink.py   (with PyFlink importable; see scripts/setup-test-deps.sh)

expected.json = {"script_sha256": …, "sinks": {name: text of its files, concatenated in name
order}}. Statements are split on ';' at line ends; '--' lines are comments.
"""
import glob, hashlib, json, os, re, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    from pyflink.table import EnvironmentSettings, TableEnvironment
    text = open(os.path.join(HERE, "script.sql"), encoding="utf-8").read()
    out = tempfile.mkdtemp()
    t = TableEnvironment.create(EnvironmentSettings.in_batch_mode())
    body = "\n".join(l for l in text.replace("${OUT}", out).replace("${IN}", os.path.join(HERE, "input")).splitlines() if not l.startswith("--"))
    for stmt in re.split(r";\s*\n", body):
        m = re.match(r"\s*SET\s+'([^']+)'\s*=\s*'([^']*)'\s*$", stmt, re.I)
        if m:
            if m.group(1) != "execution.runtime-mode":  # batch already
                t.get_config().set(m.group(1), m.group(2))
        elif stmt.strip():
            r = t.execute_sql(stmt)
            if stmt.lstrip().upper().startswith("INSERT"):
                r.wait()
    sinks = {}
    for d in sorted(os.listdir(out)):
        files = sorted(p for p in glob.glob(f"{out}/{d}/**/*", recursive=True)
                       if os.path.isfile(p) and not os.path.basename(p).startswith("."))
        sinks[d] = "".join(open(p, encoding="utf-8").read() for p in files)
    sha = hashlib.sha256(text.encode()).hexdigest()
    json.dump({"script_sha256": sha, "sinks": sinks}, open(os.path.join(HERE, "expected.json"), "w"),
              indent=1, ensure_ascii=False)
    print(f"{len(sinks)} sinks recorded")


if __name__ == "__main__":
    main()
