-- name: tumble_sum
SELECT CAST(window_start AS STRING), CAST(window_end AS STRING), k, SUM(v), COUNT(*) FROM TABLE(TUMBLE(TABLE ev, DESCRIPTOR(ts), INTERVAL '10' SECOND)) GROUP BY window_start, window_end, k;
-- name: tumble_global
SELECT CAST(window_start AS STRING), COUNT(*), MIN(id), MAX(v) FROM TABLE(TUMBLE(TABLE ev, DESCRIPTOR(ts), INTERVAL '5' SECOND)) GROUP BY window_start, window_end;
-- name: tumble_filter
SELECT CAST(window_end AS STRING), k, COUNT(*) FROM TABLE(TUMBLE(TABLE ev, DESCRIPTOR(ts), INTERVAL '10' SECOND)) WHERE v > 3 GROUP BY window_start, window_end, k;
-- name: tumble_offset
SELECT CAST(window_start AS STRING), CAST(window_end AS STRING), SUM(v) FROM TABLE(TUMBLE(TABLE ev, DESCRIPTOR(ts), INTERVAL '10' SECOND, INTERVAL '3' SECOND)) GROUP BY window_start, window_end;
-- name: tumble_distinct_filter
SELECT CAST(window_start AS STRING), COUNT(DISTINCT k), COUNT(*) FILTER (WHERE v > 5), SUM(v) FILTER (WHERE k = 'a') FROM TABLE(TUMBLE(TABLE ev, DESCRIPTOR(ts), INTERVAL '10' SECOND)) GROUP BY window_start, window_end;
-- name: tumble_named_args
SELECT CAST(window_time AS STRING), COUNT(*) FROM TABLE(TUMBLE(DATA => TABLE ev, TIMECOL => DESCRIPTOR(ts), SIZE => INTERVAL '15' SECOND)) GROUP BY window_start, window_end, window_time;
-- name: hop_count
SELECT CAST(window_start AS STRING), CAST(window_end AS STRING), k, COUNT(*), SUM(v) FROM TABLE(HOP(TABLE ev, DESCRIPTOR(ts), INTERVAL '5' SECOND, INTERVAL '10' SECOND)) GROUP BY window_start, window_end, k;
-- name: hop_global
SELECT CAST(window_start AS STRING), COUNT(*), MAX(id) FROM TABLE(HOP(TABLE ev, DESCRIPTOR(ts), INTERVAL '2' SECOND, INTERVAL '6' SECOND)) GROUP BY window_start, window_end;
-- name: cumulate_sum
SELECT CAST(window_start AS STRING), CAST(window_end AS STRING), SUM(v), COUNT(*) FROM TABLE(CUMULATE(TABLE ev, DESCRIPTOR(ts), INTERVAL '5' SECOND, INTERVAL '20' SECOND)) GROUP BY window_start, window_end;
-- name: cumulate_key
SELECT CAST(window_end AS STRING), k, MAX(v) FROM TABLE(CUMULATE(TABLE ev, DESCRIPTOR(ts), INTERVAL '4' SECOND, INTERVAL '12' SECOND)) GROUP BY window_start, window_end, k;
-- name: computed_rowtime
SELECT CAST(window_start AS STRING), COUNT(*), SUM(ms) FROM TABLE(TUMBLE(TABLE evc, DESCRIPTOR(ts2), INTERVAL '10' SECOND)) GROUP BY window_start, window_end;
-- name: group_count
SELECT k, COUNT(*), SUM(v), MAX(v), MIN(id) FROM ev GROUP BY k;
-- name: group_global
SELECT COUNT(*), SUM(v), AVG(v) FROM ev;
-- name: group_filter_distinct
SELECT k, COUNT(DISTINCT v), COUNT(*) FILTER (WHERE v >= 5) FROM ev WHERE id > 3 GROUP BY k;
-- name: group_over_group
SELECT c, COUNT(*), SUM(c) FROM (SELECT k, COUNT(*) AS c FROM ev GROUP BY k) GROUP BY c;
-- name: distinct_keys
SELECT DISTINCT k, CAST(v > 5 AS STRING) FROM ev;
-- name: union_all_group
SELECT k, COUNT(*) FROM (SELECT k, v FROM ev WHERE v > 6 UNION ALL SELECT k, v FROM ev WHERE v < 3) GROUP BY k;
-- name: projection_filter
SELECT id, UPPER(k), v * 2, CAST(ts AS STRING) FROM ev WHERE MOD(id, 3) = 0;
-- name: window_tvf_rows
SELECT id, CAST(window_start AS STRING), CAST(window_end AS STRING) FROM TABLE(HOP(TABLE ev, DESCRIPTOR(ts), INTERVAL '10' SECOND, INTERVAL '20' SECOND)) WHERE id < 12;
