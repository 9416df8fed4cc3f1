"""Records Flink 2.3's materialised results of every query in queries.sql (streaming mode) into
flink_results.json: for each query, the sorted final rows of its changelog (+I/+U add a row,
-U/-D remove one), each row as a list of Python strings (None = NULL)."""
import json, os, re, sys
from pyflink.table import EnvironmentSettings, TableEnvironment
here = os.path.dirname(os.path.abspath(__file__))
ddl = open(os.path.join(here, 'ddl.sql')).read().replace('{dir}', here)
queries = []
for block in open(os.path.join(here, 'queries.sql')).read().split('-- name: ')[1:]:
    name, sql = block.split('\n', 1)
    queries.append((name.strip(), sql.strip().rstrip(';')))
only = set(sys.argv[1:])
out = {}
for name, sql in queries:
    if only and name not in only:
        continue
    env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    env.get_config().set('parallelism.default', '1')
    env.get_config().set('table.local-time-zone', 'UTC')
    for s in [x.strip() for x in ddl.split(';') if x.strip()]:
        if s.upper().startswith('SET '):
            k, v = [x.strip().strip("'") for x in s[4:].split('=', 1)]
            env.get_config().set(k, v)
        else:
            env.execute_sql(s)
    rows = []
    try:
        with env.execute_sql(sql).collect() as it:
            for r in it:
                vals = [None if v is None else str(v) for v in r]
                if r.get_row_kind().value in (0, 2):
                    rows.append(vals)
                else:
                    rows.remove(vals)
        out[name] = sorted(rows, key=lambda r: [x or '' for x in r])
    except Exception as e:
        out[name] = {'error': str(e).split('\n')[0][:300]}
    print(name, 'rows' if isinstance(out[name], list) else out[name], flush=True)
path = os.path.join(here, 'flink_results.json')
old = json.load(open(path)) if only and os.path.exists(path) else {}
old.update(out)
json.dump(old, open(path, 'w'), indent=1, sort_keys=True)
