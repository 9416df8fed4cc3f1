CREATE TABLE g (id BIGINT, grp STRING) WITH ('connector' = 'datagen', 'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '6', 'fields.grp.kind' = 'sequence', 'fields.grp.start' = '1', 'fields.grp.end' = '6');
CREATE TEMPORARY VIEW v (k, n) AS SELECT MOD(id, 2), id FROM g;
SELECT k, COUNT(*), SUM(n) FROM v GROUP BY k ORDER BY k;
SELECT LISTAGG(grp) FROM (SELECT grp FROM g WHERE id <= 3 ORDER BY grp);
