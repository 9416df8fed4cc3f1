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
-- name: join_inner
SELECT e.id, e.k, d.name, e.v * d.w FROM ev e JOIN dim d ON e.k = d.k WHERE e.id < 30;
-- name: join_left
SELECT e.id, d.name FROM ev e LEFT JOIN dim d ON e.k = d.k AND d.w > 1;
-- name: join_right
SELECT d.k, d.name, e.id FROM (SELECT * FROM ev WHERE id < 20) e RIGHT JOIN dim d ON e.k = d.k;
-- name: join_full
SELECT e.k, d.k, COUNT(*) AS c FROM (SELECT DISTINCT k FROM ev) e FULL JOIN dim d ON e.k = d.k GROUP BY e.k, d.k;
-- name: join_comma
SELECT e.id, o.oid FROM ev e, ord o WHERE e.k = o.k AND e.v * 5 > o.amt AND e.id < 15 AND o.oid < 15;
-- name: join_over_aggregates
SELECT a.k, a.c, b.s FROM (SELECT k, COUNT(*) AS c FROM ev GROUP BY k) a JOIN (SELECT k, SUM(amt) AS s FROM ord GROUP BY k) b ON a.k = b.k;
-- name: interval_join
SELECT e.id, o.oid, CAST(o.ots AS STRING) FROM ev e JOIN ord o ON e.k = o.k AND o.ots BETWEEN e.ts - INTERVAL '2' SECOND AND e.ts + INTERVAL '1' SECOND;
-- name: window_join
SELECT CAST(l.window_start AS STRING), l.k, l.c, r.s FROM (SELECT window_start, window_end, k, COUNT(*) AS c FROM TABLE(TUMBLE(TABLE ev, DESCRIPTOR(ts), INTERVAL '10' SECOND)) GROUP BY window_start, window_end, k) l JOIN (SELECT window_start, window_end, k, SUM(amt) AS s FROM TABLE(TUMBLE(TABLE ord, DESCRIPTOR(ots), INTERVAL '10' SECOND)) GROUP BY window_start, window_end, k) r ON l.window_start = r.window_start AND l.window_end = r.window_end AND l.k = r.k;
-- name: window_join_left_rows
SELECT l.id, r.oid, CAST(l.window_end AS STRING) FROM (SELECT * FROM TABLE(TUMBLE(TABLE ev, DESCRIPTOR(ts), INTERVAL '10' SECOND))) l LEFT JOIN (SELECT * FROM TABLE(TUMBLE(TABLE ord, DESCRIPTOR(ots), INTERVAL '10' SECOND))) r ON l.window_start = r.window_start AND l.window_end = r.window_end AND l.k = r.k WHERE l.id < 25;
-- name: topn_rank
SELECT k, id, v, rn FROM (SELECT k, id, v, ROW_NUMBER() OVER (PARTITION BY k ORDER BY v DESC, id) AS rn FROM ev) WHERE rn <= 2;
-- name: topn_no_rank
SELECT k, id, v FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY k ORDER BY v ASC) AS rn FROM ev) WHERE rn <= 3 AND v > 1;
-- name: topn_global_offset
SELECT id, v, rn FROM (SELECT id, v, ROW_NUMBER() OVER (ORDER BY v DESC, id DESC) AS rn FROM ev) WHERE rn BETWEEN 2 AND 4;
-- name: dedup_first
SELECT k, id, CAST(ts AS STRING) FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY k ORDER BY ts ASC) AS rn FROM ev) WHERE rn = 1;
-- name: dedup_last
SELECT k, id, v FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY k ORDER BY ts DESC) AS rn FROM ev) WHERE rn = 1;
-- name: window_topn
SELECT CAST(window_start AS STRING), k, c, rn FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end ORDER BY c DESC, k) AS rn FROM (SELECT window_start, window_end, k, COUNT(*) AS c FROM TABLE(TUMBLE(TABLE ev, DESCRIPTOR(ts), INTERVAL '10' SECOND)) GROUP BY window_start, window_end, k)) WHERE rn <= 2;
-- name: window_dedup
SELECT CAST(window_start AS STRING), k, id FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end, k ORDER BY ts DESC) AS rn FROM TABLE(TUMBLE(TABLE ev, DESCRIPTOR(ts), INTERVAL '10' SECOND))) WHERE rn = 1;
-- name: order_limit
SELECT id, v FROM ev ORDER BY v DESC, id LIMIT 5;
-- name: limit_only
SELECT id, k FROM ev WHERE v > 5 LIMIT 4;
-- name: semi_in
SELECT id, k FROM ev WHERE k IN (SELECT k FROM dim WHERE w >= 2) AND id < 30;
-- name: semi_exists_correlated
SELECT e.id, e.v FROM ev e WHERE EXISTS (SELECT 1 FROM ord o WHERE o.k = e.k AND o.amt > e.v * 4);
-- name: anti_not_exists
SELECT e.id, e.k FROM ev e WHERE NOT EXISTS (SELECT 1 FROM dim d WHERE d.k = e.k);
-- name: scalar_subquery
SELECT e.k, COUNT(*) FROM ev e WHERE e.v * 5 > (SELECT AVG(o.amt) FROM ord o WHERE o.k = e.k) GROUP BY e.k;
-- name: scalar_subquery_uncorrelated
SELECT k, COUNT(*) FROM ev WHERE v > (SELECT AVG(amt) / 5 FROM ord) AND id < 10 GROUP BY k;
-- name: interval_join_left
SELECT e.id, o.oid FROM (SELECT * FROM ev WHERE id NOT IN (13, 26, 39, 52)) e LEFT JOIN (SELECT * FROM ord WHERE oid NOT IN (9, 27, 36)) o ON e.k = o.k AND o.ots BETWEEN e.ts - INTERVAL '1' SECOND AND e.ts + INTERVAL '2' SECOND;
-- name: interval_join_right_strict
SELECT e.id, o.oid FROM (SELECT * FROM ev WHERE id NOT IN (13, 26, 39, 52)) e RIGHT JOIN (SELECT * FROM ord WHERE oid NOT IN (9, 27, 36)) o ON e.k = o.k AND e.ts > o.ots AND e.ts < o.ots + INTERVAL '3' SECOND;
-- name: interval_join_full
SELECT e.id, o.oid FROM (SELECT * FROM ev WHERE id NOT IN (13, 26, 39, 52)) e FULL JOIN (SELECT * FROM ord WHERE oid NOT IN (9, 27, 36)) o ON e.k = o.k AND e.ts BETWEEN o.ots - INTERVAL '0.5' SECOND AND o.ots + INTERVAL '0.5' SECOND;
-- name: interval_join_then_window
SELECT CAST(window_start AS STRING), COUNT(*), SUM(amt) FROM TABLE(TUMBLE(TABLE evord, DESCRIPTOR(ts), INTERVAL '10' SECOND)) GROUP BY window_start, window_end;
-- name: session_partitioned
SELECT CAST(window_start AS STRING), CAST(window_end AS STRING), k, COUNT(*), SUM(v) FROM TABLE(SESSION(TABLE ev PARTITION BY k, DESCRIPTOR(ts), INTERVAL '2' SECOND)) GROUP BY window_start, window_end, k;
-- name: session_global
SELECT CAST(window_start AS STRING), CAST(window_end AS STRING), COUNT(*), MAX(amt) FROM TABLE(SESSION(TABLE ord, DESCRIPTOR(ots), INTERVAL '1' SECOND)) GROUP BY window_start, window_end;
-- name: session_group_key
SELECT CAST(window_start AS STRING), k, COUNT(*) FROM TABLE(SESSION(TABLE ev, DESCRIPTOR(ts), INTERVAL '1.5' SECOND)) GROUP BY window_start, window_end, k;
-- name: current_watermark_keeps_rows_ahead_of_it
SELECT id, CAST(ts AS STRING), CAST(CURRENT_WATERMARK(ts) AS STRING) AS wm FROM ev WHERE CURRENT_WATERMARK(ts) IS NULL OR ts > CURRENT_WATERMARK(ts)
-- name: current_watermark_marks_late_rows
SELECT id, k, CASE WHEN CURRENT_WATERMARK(ts) IS NOT NULL AND ts <= CURRENT_WATERMARK(ts) THEN 'late' ELSE 'on time' END AS arrival FROM ev
-- name: over_rows_unbounded
SELECT id, k, v, SUM(v) OVER (PARTITION BY k ORDER BY ts ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW), COUNT(*) OVER (PARTITION BY k ORDER BY ts ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) FROM ev
-- name: over_range_unbounded_named_window
SELECT id, k, SUM(v) OVER w, MAX(v) OVER w FROM ev WINDOW w AS (PARTITION BY k ORDER BY ts)
-- name: over_rows_bounded
SELECT id, k, SUM(v) OVER (PARTITION BY k ORDER BY ts ROWS BETWEEN 2 PRECEDING AND CURRENT ROW), MIN(v) OVER (PARTITION BY k ORDER BY ts ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) FROM ev
-- name: over_range_bounded
SELECT id, k, COUNT(*) OVER w, SUM(v) OVER w, MAX(v) OVER w FROM ev WINDOW w AS (PARTITION BY k ORDER BY ts RANGE BETWEEN INTERVAL '3' SECOND PRECEDING AND CURRENT ROW)
-- name: over_global_rows_then_filter
SELECT oid, amt, s FROM (SELECT oid, amt, SUM(amt) OVER (ORDER BY ots ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS s FROM ord) WHERE s > 30
-- name: over_avg_distinct_count
SELECT id, AVG(v) OVER w, COUNT(DISTINCT k) OVER w FROM ev WINDOW w AS (ORDER BY ts ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
-- name: session_rows
SELECT id, k, CAST(window_start AS STRING), CAST(window_end AS STRING), CAST(window_time AS STRING) FROM TABLE(SESSION(TABLE ev PARTITION BY k, DESCRIPTOR(ts), INTERVAL '2' SECOND))
-- name: session_rows_filtered_after_merging
SELECT oid, CAST(window_start AS STRING), CAST(window_end AS STRING) FROM TABLE(SESSION(TABLE ord, DESCRIPTOR(ots), INTERVAL '1' SECOND)) WHERE amt > 20
-- name: session_window_top_n
SELECT * FROM (SELECT id, k, v, CAST(window_start AS STRING) AS ws, CAST(window_end AS STRING) AS we, ROW_NUMBER() OVER (PARTITION BY window_start, window_end, k ORDER BY v DESC, id) AS rn FROM TABLE(SESSION(TABLE ev PARTITION BY k, DESCRIPTOR(ts), INTERVAL '2' SECOND))) WHERE rn <= 2
-- name: session_window_dedup
SELECT id, k, ws FROM (SELECT id, k, CAST(window_start AS STRING) AS ws, ROW_NUMBER() OVER (PARTITION BY window_start, window_end, k ORDER BY ts ASC) AS rn FROM TABLE(SESSION(TABLE ev PARTITION BY k, DESCRIPTOR(ts), INTERVAL '2' SECOND))) WHERE rn = 1
-- name: session_window_join
SELECT L.id, R.id, L.k, CAST(L.window_start AS STRING), CAST(L.window_end AS STRING) FROM (SELECT * FROM TABLE(SESSION(TABLE ev PARTITION BY k, DESCRIPTOR(ts), INTERVAL '2' SECOND))) L JOIN (SELECT * FROM TABLE(SESSION(TABLE ev PARTITION BY k, DESCRIPTOR(ts), INTERVAL '2' SECOND))) R ON L.window_start = R.window_start AND L.window_end = R.window_end AND L.k = R.k AND L.v < R.v
-- name: session_filtered_then_grouped
SELECT CAST(window_start AS STRING), CAST(window_end AS STRING), COUNT(*), SUM(v) FROM TABLE(SESSION(TABLE ev PARTITION BY k, DESCRIPTOR(ts), INTERVAL '2' SECOND)) WHERE v > 1 GROUP BY window_start, window_end
-- name: join_full_condition_over_aggregates
SELECT a.k, a.c, b.s FROM (SELECT k, COUNT(*) AS c FROM ev GROUP BY k) a FULL JOIN (SELECT k, SUM(amt) AS s FROM ord GROUP BY k) b ON a.k = b.k AND b.s > a.c * 10
-- name: anti_condition_over_aggregate
SELECT e.id, e.k FROM ev e WHERE NOT EXISTS (SELECT 1 FROM (SELECT k, SUM(amt) AS s FROM ord GROUP BY k) o WHERE o.k = e.k AND o.s > e.v * 20)
-- name: semi_condition_over_aggregate
SELECT e.id, e.k FROM ev e WHERE EXISTS (SELECT 1 FROM (SELECT k, MAX(amt) AS m FROM ord GROUP BY k) o WHERE o.k = e.k AND o.m > e.v * 8)
-- name: reused_hop_subplan_join
SELECT a.k, a.c, CAST(a.s AS STRING) FROM (SELECT k, COUNT(*) AS c, window_start AS s, window_end AS e FROM TABLE(HOP(TABLE ev, DESCRIPTOR(ts), INTERVAL '5' SECOND, INTERVAL '10' SECOND)) GROUP BY k, window_start, window_end) a JOIN (SELECT MAX(c) AS m, s, e FROM (SELECT k, COUNT(*) AS c, window_start AS s, window_end AS e FROM TABLE(HOP(TABLE ev, DESCRIPTOR(ts), INTERVAL '5' SECOND, INTERVAL '10' SECOND)) GROUP BY k, window_start, window_end) GROUP BY s, e) b ON a.s = b.s AND a.e = b.e AND a.c >= b.m
-- name: self_join_of_one_aggregate
SELECT x.k, x.c, y.s FROM (SELECT k, COUNT(*) AS c, SUM(v) AS s FROM ev GROUP BY k) x JOIN (SELECT k, COUNT(*) AS c, SUM(v) AS s FROM ev GROUP BY k) y ON x.k = y.k AND x.c <= y.s
-- name: count_distinct_over_changelog
SELECT k, COUNT(DISTINCT s), COUNT(DISTINCT b) FILTER (WHERE s > 10), COUNT(*) FROM (SELECT MOD(id, 5) AS b, k, SUM(v) AS s FROM ev GROUP BY MOD(id, 5), k) GROUP BY k
-- name: group_distinct_shared_retract
SELECT k, COUNT(DISTINCT s), COUNT(DISTINCT s) FILTER (WHERE b > 1), COUNT(DISTINCT b), COUNT(DISTINCT b) FILTER (WHERE s > 10), COUNT(DISTINCT s) FILTER (WHERE b < 3) FROM (SELECT MOD(id, 5) AS b, k, SUM(v) AS s FROM ev GROUP BY MOD(id, 5), k) GROUP BY k;
-- name: hop_distinct_shared
SELECT CAST(window_start AS STRING), COUNT(DISTINCT v), COUNT(DISTINCT v) FILTER (WHERE k = 'a'), COUNT(DISTINCT v) FILTER (WHERE id > 10), COUNT(DISTINCT id), COUNT(*) FROM TABLE(HOP(TABLE ev, DESCRIPTOR(ts), INTERVAL '5' SECOND, INTERVAL '10' SECOND)) GROUP BY window_start, window_end;
-- name: coalesce_and_casts_in_aggregates
SELECT k, SUM(CAST(v AS DOUBLE)), MAX(CAST(v AS BIGINT)), AVG(CAST(v AS DECIMAL(10, 2))), COUNT(COALESCE(CASE WHEN v > 5 THEN id END, -1)), SUM(IFNULL(CASE WHEN v > 5 THEN v END, 0)) FROM ev GROUP BY k
-- name: coalesce_in_projection
SELECT id, COALESCE(CASE WHEN v > 5 THEN k END, 'low'), IFNULL(CASE WHEN v < 3 THEN v END, -v) FROM ev WHERE id < 30
-- name: window_casts_in_aggregates
SELECT CAST(window_start AS STRING), k, SUM(CAST(v AS DOUBLE)), MIN(CAST(v AS BIGINT)), SUM(COALESCE(CASE WHEN v > 5 THEN v END, 0)) FROM TABLE(TUMBLE(TABLE ev, DESCRIPTOR(ts), INTERVAL '10' SECOND)) GROUP BY window_start, window_end, k
-- name: first_last_value_skip_nulls
SELECT k, FIRST_VALUE(CASE WHEN v > 5 THEN id END), LAST_VALUE(CASE WHEN v > 5 THEN id END), FIRST_VALUE(CASE WHEN v > 100 THEN id END) FROM ev GROUP BY k
-- name: window_first_last_value_skip_nulls
SELECT CAST(window_start AS STRING), FIRST_VALUE(CASE WHEN v > 5 THEN id END), LAST_VALUE(CASE WHEN v > 5 THEN id END) FROM TABLE(TUMBLE(TABLE ev, DESCRIPTOR(ts), INTERVAL '10' SECOND)) GROUP BY window_start, window_end
-- name: window_semi_join
SELECT l.id, CAST(l.window_start AS STRING) FROM (SELECT * FROM TABLE(TUMBLE(TABLE ev, DESCRIPTOR(ts), INTERVAL '10' SECOND))) l WHERE l.id < 25 AND l.k IN (SELECT r.k FROM TABLE(TUMBLE(TABLE ord, DESCRIPTOR(ots), INTERVAL '10' SECOND)) r WHERE l.window_start = r.window_start AND l.window_end = r.window_end)
-- name: window_anti_join
SELECT l.id, CAST(l.window_start AS STRING) FROM (SELECT * FROM TABLE(TUMBLE(TABLE ev, DESCRIPTOR(ts), INTERVAL '10' SECOND))) l WHERE l.id < 25 AND NOT EXISTS (SELECT * FROM TABLE(TUMBLE(TABLE ord, DESCRIPTOR(ots), INTERVAL '10' SECOND)) r WHERE l.window_start = r.window_start AND l.window_end = r.window_end AND l.k = r.k)
-- name: clock_and_regexp_count_per_row
SELECT id, CASE WHEN CURRENT_TIMESTAMP IS NOT NULL THEN 'set' END, CASE WHEN LOCALTIMESTAMP > TIMESTAMP '2020-01-01 00:00:00' THEN 'after' END, REGEXP_COUNT(CASE WHEN v > 5 THEN k END, 'a'), UNIX_TIMESTAMP('2024-01-01 00:00:01.500') FROM ev WHERE id < 12
-- name: count_distinct_and_extremes_of_strings_over_changelog
SELECT c, COUNT(DISTINCT k), MIN(k), MAX(k), COUNT(*) FROM (SELECT k, COUNT(*) AS c FROM ev GROUP BY k) GROUP BY c
-- name: count_distinct_strings_over_outer_join
SELECT d.name, COUNT(DISTINCT e.k), MAX(e.k), MIN(d.k), COUNT(DISTINCT e.id) FROM ev e LEFT JOIN dim d ON e.k = d.k GROUP BY d.name
-- name: grouping_sets_with_grouping_ids
SELECT k, b, COUNT(*), SUM(v), GROUPING(k), GROUPING_ID(k, b) FROM (SELECT id, k, v, MOD(id, 2) AS b FROM ev) GROUP BY GROUPING SETS ((k, b), (k), ())
-- name: cube_over_a_changelog
SELECT c, b, COUNT(*), SUM(s) FROM (SELECT k, MOD(id, 3) AS b, COUNT(*) AS c, SUM(v) AS s FROM ev GROUP BY k, MOD(id, 3)) GROUP BY CUBE (c, b)
-- name: window_rollup
SELECT CAST(window_start AS STRING), k, b, COUNT(*), SUM(v) FROM (SELECT window_start, window_end, k, MOD(id, 2) AS b, v FROM TABLE(TUMBLE(TABLE ev, DESCRIPTOR(ts), INTERVAL '10' SECOND))) GROUP BY window_start, window_end, ROLLUP (k, b)
