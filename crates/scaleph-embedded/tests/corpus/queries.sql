-- Differential-test corpus: batch Flink SQL over TPC-H SF 0.01 (+ the `nulls` table).
-- Each query: a line "-- name: <name>", then the SELECT, terminated by ";".
-- Tables are defined in ddl.sql. Results are deterministic (LIMIT only with a total ORDER BY).

-- name: tpch_q01
SELECT l_returnflag, l_linestatus, SUM(l_quantity) AS sum_qty, SUM(l_extendedprice) AS sum_base_price, SUM(l_extendedprice * (1 - l_discount)) AS sum_disc_price, SUM(l_extendedprice * (1 - l_discount) * (1 + l_tax)) AS sum_charge, AVG(l_quantity) AS avg_qty, AVG(l_extendedprice) AS avg_price, AVG(l_discount) AS avg_disc, COUNT(*) AS count_order
FROM lineitem
WHERE l_shipdate <= DATE '1998-12-01' - INTERVAL '90' DAY
GROUP BY l_returnflag, l_linestatus
ORDER BY l_returnflag, l_linestatus;
-- name: tpch_q02
SELECT s_acctbal, s_name, n_name, p_partkey, p_mfgr, s_address, s_phone, s_comment
FROM part, supplier, partsupp, nation, region
WHERE p_partkey = ps_partkey AND s_suppkey = ps_suppkey AND p_size = 15 AND p_type LIKE '%BRASS'
  AND s_nationkey = n_nationkey AND n_regionkey = r_regionkey AND r_name = 'EUROPE'
  AND ps_supplycost = (SELECT MIN(ps_supplycost) FROM partsupp, supplier, nation, region
                       WHERE p_partkey = ps_partkey AND s_suppkey = ps_suppkey AND s_nationkey = n_nationkey
                         AND n_regionkey = r_regionkey AND r_name = 'EUROPE')
ORDER BY s_acctbal DESC, n_name, s_name, p_partkey
LIMIT 100;
-- name: tpch_q03
SELECT l_orderkey, SUM(l_extendedprice * (1 - l_discount)) AS revenue, o_orderdate, o_shippriority
FROM customer, orders, lineitem
WHERE c_mktsegment = 'BUILDING' AND c_custkey = o_custkey AND l_orderkey = o_orderkey
  AND o_orderdate < DATE '1995-03-15' AND l_shipdate > DATE '1995-03-15'
GROUP BY l_orderkey, o_orderdate, o_shippriority
ORDER BY revenue DESC, o_orderdate, l_orderkey
LIMIT 10;
-- name: tpch_q04
SELECT o_orderpriority, COUNT(*) AS order_count
FROM orders
WHERE o_orderdate >= DATE '1993-07-01' AND o_orderdate < DATE '1993-07-01' + INTERVAL '3' MONTH
  AND EXISTS (SELECT * FROM lineitem WHERE l_orderkey = o_orderkey AND l_commitdate < l_receiptdate)
GROUP BY o_orderpriority
ORDER BY o_orderpriority;
-- name: tpch_q05
SELECT n_name, SUM(l_extendedprice * (1 - l_discount)) AS revenue
FROM customer, orders, lineitem, supplier, nation, region
WHERE c_custkey = o_custkey AND l_orderkey = o_orderkey AND l_suppkey = s_suppkey AND c_nationkey = s_nationkey
  AND s_nationkey = n_nationkey AND n_regionkey = r_regionkey AND r_name = 'ASIA'
  AND o_orderdate >= DATE '1994-01-01' AND o_orderdate < DATE '1994-01-01' + INTERVAL '1' YEAR
GROUP BY n_name
ORDER BY revenue DESC, n_name;
-- name: tpch_q06
SELECT SUM(l_extendedprice * l_discount) AS revenue
FROM lineitem
WHERE l_shipdate >= DATE '1994-01-01' AND l_shipdate < DATE '1994-01-01' + INTERVAL '1' YEAR
  AND l_discount BETWEEN 0.06 - 0.01 AND 0.06 + 0.01 AND l_quantity < 24;
-- name: tpch_q07
SELECT supp_nation, cust_nation, l_year, SUM(volume) AS revenue
FROM (SELECT n1.n_name AS supp_nation, n2.n_name AS cust_nation, EXTRACT(YEAR FROM l_shipdate) AS l_year,
             l_extendedprice * (1 - l_discount) AS volume
      FROM supplier, lineitem, orders, customer, nation n1, nation n2
      WHERE s_suppkey = l_suppkey AND o_orderkey = l_orderkey AND c_custkey = o_custkey
        AND s_nationkey = n1.n_nationkey AND c_nationkey = n2.n_nationkey
        AND ((n1.n_name = 'FRANCE' AND n2.n_name = 'GERMANY') OR (n1.n_name = 'GERMANY' AND n2.n_name = 'FRANCE'))
        AND l_shipdate BETWEEN DATE '1995-01-01' AND DATE '1996-12-31') AS shipping
GROUP BY supp_nation, cust_nation, l_year
ORDER BY supp_nation, cust_nation, l_year;
-- name: tpch_q08
SELECT o_year, SUM(CASE WHEN nation = 'BRAZIL' THEN volume ELSE 0 END) / SUM(volume) AS mkt_share
FROM (SELECT EXTRACT(YEAR FROM o_orderdate) AS o_year, l_extendedprice * (1 - l_discount) AS volume, n2.n_name AS nation
      FROM part, supplier, lineitem, orders, customer, nation n1, nation n2, region
      WHERE p_partkey = l_partkey AND s_suppkey = l_suppkey AND l_orderkey = o_orderkey AND o_custkey = c_custkey
        AND c_nationkey = n1.n_nationkey AND n1.n_regionkey = r_regionkey AND r_name = 'AMERICA'
        AND s_nationkey = n2.n_nationkey AND o_orderdate BETWEEN DATE '1995-01-01' AND DATE '1996-12-31'
        AND p_type = 'ECONOMY ANODIZED STEEL') AS all_nations
GROUP BY o_year
ORDER BY o_year;
-- name: tpch_q09
SELECT nation, o_year, SUM(amount) AS sum_profit
FROM (SELECT n_name AS nation, EXTRACT(YEAR FROM o_orderdate) AS o_year,
             l_extendedprice * (1 - l_discount) - ps_supplycost * l_quantity AS amount
      FROM part, supplier, lineitem, partsupp, orders, nation
      WHERE s_suppkey = l_suppkey AND ps_suppkey = l_suppkey AND ps_partkey = l_partkey AND p_partkey = l_partkey
        AND o_orderkey = l_orderkey AND s_nationkey = n_nationkey AND p_name LIKE '%green%') AS profit
GROUP BY nation, o_year
ORDER BY nation, o_year DESC;
-- name: tpch_q10
SELECT c_custkey, c_name, SUM(l_extendedprice * (1 - l_discount)) AS revenue, c_acctbal, n_name, c_address, c_phone, c_comment
FROM customer, orders, lineitem, nation
WHERE c_custkey = o_custkey AND l_orderkey = o_orderkey
  AND o_orderdate >= DATE '1993-10-01' AND o_orderdate < DATE '1993-10-01' + INTERVAL '3' MONTH
  AND l_returnflag = 'R' AND c_nationkey = n_nationkey
GROUP BY c_custkey, c_name, c_acctbal, c_phone, n_name, c_address, c_comment
ORDER BY revenue DESC, c_custkey
LIMIT 20;
-- name: tpch_q11
SELECT ps_partkey, SUM(ps_supplycost * ps_availqty) AS `value`
FROM partsupp, supplier, nation
WHERE ps_suppkey = s_suppkey AND s_nationkey = n_nationkey AND n_name = 'GERMANY'
GROUP BY ps_partkey
HAVING SUM(ps_supplycost * ps_availqty) > (SELECT SUM(ps_supplycost * ps_availqty) * 0.01
                                           FROM partsupp, supplier, nation
                                           WHERE ps_suppkey = s_suppkey AND s_nationkey = n_nationkey AND n_name = 'GERMANY')
ORDER BY `value` DESC, ps_partkey;
-- name: tpch_q12
SELECT l_shipmode,
       SUM(CASE WHEN o_orderpriority = '1-URGENT' OR o_orderpriority = '2-HIGH' THEN 1 ELSE 0 END) AS high_line_count,
       SUM(CASE WHEN o_orderpriority <> '1-URGENT' AND o_orderpriority <> '2-HIGH' THEN 1 ELSE 0 END) AS low_line_count
FROM orders, lineitem
WHERE o_orderkey = l_orderkey AND l_shipmode IN ('MAIL', 'SHIP') AND l_commitdate < l_receiptdate
  AND l_shipdate < l_commitdate AND l_receiptdate >= DATE '1994-01-01'
  AND l_receiptdate < DATE '1994-01-01' + INTERVAL '1' YEAR
GROUP BY l_shipmode
ORDER BY l_shipmode;
-- name: tpch_q13
SELECT c_count, COUNT(*) AS custdist
FROM (SELECT c_custkey, COUNT(o_orderkey) AS c_count
      FROM customer LEFT OUTER JOIN orders ON c_custkey = o_custkey AND o_comment NOT LIKE '%special%requests%'
      GROUP BY c_custkey) AS c_orders
GROUP BY c_count
ORDER BY custdist DESC, c_count DESC;
-- name: tpch_q14
SELECT 100.00 * SUM(CASE WHEN p_type LIKE 'PROMO%' THEN l_extendedprice * (1 - l_discount) ELSE 0 END)
       / SUM(l_extendedprice * (1 - l_discount)) AS promo_revenue
FROM lineitem, part
WHERE l_partkey = p_partkey AND l_shipdate >= DATE '1995-09-01' AND l_shipdate < DATE '1995-09-01' + INTERVAL '1' MONTH;
-- name: tpch_q15
WITH revenue0 AS (
  SELECT l_suppkey AS supplier_no, SUM(l_extendedprice * (1 - l_discount)) AS total_revenue
  FROM lineitem
  WHERE l_shipdate >= DATE '1996-01-01' AND l_shipdate < DATE '1996-01-01' + INTERVAL '3' MONTH
  GROUP BY l_suppkey)
SELECT s_suppkey, s_name, s_address, s_phone, total_revenue
FROM supplier, revenue0
WHERE s_suppkey = supplier_no AND total_revenue = (SELECT MAX(total_revenue) FROM revenue0)
ORDER BY s_suppkey;
-- name: tpch_q16
SELECT p_brand, p_type, p_size, COUNT(DISTINCT ps_suppkey) AS supplier_cnt
FROM partsupp, part
WHERE p_partkey = ps_partkey AND p_brand <> 'Brand#45' AND p_type NOT LIKE 'MEDIUM POLISHED%'
  AND p_size IN (49, 14, 23, 45, 19, 3, 36, 9)
  AND ps_suppkey NOT IN (SELECT s_suppkey FROM supplier WHERE s_comment LIKE '%Customer%Complaints%')
GROUP BY p_brand, p_type, p_size
ORDER BY supplier_cnt DESC, p_brand, p_type, p_size
LIMIT 150;
-- name: tpch_q17
SELECT SUM(l_extendedprice) / 7.0 AS avg_yearly
FROM lineitem, part
WHERE p_partkey = l_partkey AND p_brand = 'Brand#23' AND p_container = 'MED BOX'
  AND l_quantity < (SELECT 0.2 * AVG(l_quantity) FROM lineitem WHERE l_partkey = p_partkey);
-- name: tpch_q18
SELECT c_name, c_custkey, o_orderkey, o_orderdate, o_totalprice, SUM(l_quantity) AS sum_qty
FROM customer, orders, lineitem
WHERE o_orderkey IN (SELECT l_orderkey FROM lineitem GROUP BY l_orderkey HAVING SUM(l_quantity) > 300)
  AND c_custkey = o_custkey AND o_orderkey = l_orderkey
GROUP BY c_name, c_custkey, o_orderkey, o_orderdate, o_totalprice
ORDER BY o_totalprice DESC, o_orderdate, o_orderkey
LIMIT 100;
-- name: tpch_q19
SELECT SUM(l_extendedprice * (1 - l_discount)) AS revenue
FROM lineitem, part
WHERE (p_partkey = l_partkey AND p_brand = 'Brand#12' AND p_container IN ('SM CASE', 'SM BOX', 'SM PACK', 'SM PKG')
       AND l_quantity >= 1 AND l_quantity <= 1 + 10 AND p_size BETWEEN 1 AND 5
       AND l_shipmode IN ('AIR', 'AIR REG') AND l_shipinstruct = 'DELIVER IN PERSON')
   OR (p_partkey = l_partkey AND p_brand = 'Brand#23' AND p_container IN ('MED BAG', 'MED BOX', 'MED PKG', 'MED PACK')
       AND l_quantity >= 10 AND l_quantity <= 10 + 10 AND p_size BETWEEN 1 AND 10
       AND l_shipmode IN ('AIR', 'AIR REG') AND l_shipinstruct = 'DELIVER IN PERSON')
   OR (p_partkey = l_partkey AND p_brand = 'Brand#34' AND p_container IN ('LG CASE', 'LG BOX', 'LG PACK', 'LG PKG')
       AND l_quantity >= 20 AND l_quantity <= 20 + 10 AND p_size BETWEEN 1 AND 15
       AND l_shipmode IN ('AIR', 'AIR REG') AND l_shipinstruct = 'DELIVER IN PERSON');
-- name: tpch_q20
SELECT s_name, s_address
FROM supplier, nation
WHERE s_suppkey IN (SELECT ps_suppkey FROM partsupp
                    WHERE ps_partkey IN (SELECT p_partkey FROM part WHERE p_name LIKE 'forest%')
                      AND ps_availqty > (SELECT 0.5 * SUM(l_quantity) FROM lineitem
                                         WHERE l_partkey = ps_partkey AND l_suppkey = ps_suppkey
                                           AND l_shipdate >= DATE '1994-01-01'
                                           AND l_shipdate < DATE '1994-01-01' + INTERVAL '1' YEAR))
  AND s_nationkey = n_nationkey AND n_name = 'CANADA'
ORDER BY s_name;
-- name: tpch_q21
SELECT s_name, COUNT(*) AS numwait
FROM supplier, lineitem l1, orders, nation
WHERE s_suppkey = l1.l_suppkey AND o_orderkey = l1.l_orderkey AND o_orderstatus = 'F'
  AND l1.l_receiptdate > l1.l_commitdate
  AND EXISTS (SELECT * FROM lineitem l2 WHERE l2.l_orderkey = l1.l_orderkey AND l2.l_suppkey <> l1.l_suppkey)
  AND NOT EXISTS (SELECT * FROM lineitem l3 WHERE l3.l_orderkey = l1.l_orderkey AND l3.l_suppkey <> l1.l_suppkey
                  AND l3.l_receiptdate > l3.l_commitdate)
  AND s_nationkey = n_nationkey AND n_name = 'SAUDI ARABIA'
GROUP BY s_name
ORDER BY numwait DESC, s_name
LIMIT 100;
-- name: tpch_q22
SELECT cntrycode, COUNT(*) AS numcust, SUM(c_acctbal) AS totacctbal
FROM (SELECT SUBSTRING(c_phone FROM 1 FOR 2) AS cntrycode, c_acctbal
      FROM customer
      WHERE SUBSTRING(c_phone FROM 1 FOR 2) IN ('13', '31', '23', '29', '30', '18', '17')
        AND c_acctbal > (SELECT AVG(c_acctbal) FROM customer WHERE c_acctbal > 0.00
                         AND SUBSTRING(c_phone FROM 1 FOR 2) IN ('13', '31', '23', '29', '30', '18', '17'))
        AND NOT EXISTS (SELECT * FROM orders WHERE o_custkey = c_custkey)) AS custsale
GROUP BY cntrycode
ORDER BY cntrycode;
-- name: str_upper_lower
SELECT n_nationkey, UPPER(n_name) AS u, LOWER(n_name) AS l, CHAR_LENGTH(n_name) AS len FROM nation ORDER BY n_nationkey;
-- name: str_substring
SELECT n_nationkey, SUBSTRING(n_name FROM 2 FOR 3) AS s1, SUBSTRING(n_name FROM 3) AS s2, SUBSTR(n_name, 1, 2) AS s3 FROM nation ORDER BY n_nationkey;
-- name: str_trim_family
SELECT TRIM('  ab c  ') AS t, LTRIM('  ab  ') AS lt, RTRIM('  ab  ') AS rt, TRIM(BOTH 'x' FROM 'xxabxx') AS tb, TRIM(LEADING 'x' FROM 'xxabxx') AS tl, TRIM(TRAILING 'x' FROM 'xxabxx') AS tt;
-- name: str_concat_ops
SELECT r_regionkey, r_name || '-' || CAST(r_regionkey AS STRING) AS c1, CONCAT(r_name, '/', r_name) AS c2, CONCAT_WS('|', r_name, 'x', CAST(NULL AS STRING), 'y') AS c3 FROM region ORDER BY r_regionkey;
-- name: str_replace_position
SELECT n_nationkey, REPLACE(n_name, 'A', '@') AS r, POSITION('A' IN n_name) AS p, LOCATE('N', n_name) AS loc FROM nation ORDER BY n_nationkey;
-- name: str_pad
SELECT r_regionkey, LPAD(r_name, 10, '*') AS lp, RPAD(r_name, 10, '.') AS rp, LPAD(r_name, 3, '*') AS lp3 FROM region ORDER BY r_regionkey;
-- name: str_initcap_reverse_repeat
SELECT r_regionkey, INITCAP(LOWER(r_name)) AS ic, REVERSE(r_name) AS rv, REPEAT(SUBSTRING(r_name FROM 1 FOR 2), 3) AS rp FROM region ORDER BY r_regionkey;
-- name: str_left_right
SELECT n_nationkey, `LEFT`(n_name, 3) AS lf, `RIGHT`(n_name, 3) AS rt FROM nation ORDER BY n_nationkey;
-- name: str_regexp
SELECT c_custkey, REGEXP_REPLACE(c_phone, '[0-9]', '#') AS masked, REGEXP_EXTRACT(c_phone, '^([0-9]+)-', 1) AS cc, REGEXP(c_phone, '^1[0-9]-') AS m FROM customer WHERE c_custkey <= 15 ORDER BY c_custkey;
-- name: str_split_index
SELECT c_custkey, SPLIT_INDEX(c_phone, '-', 0) AS p0, SPLIT_INDEX(c_phone, '-', 3) AS p3 FROM customer WHERE c_custkey <= 10 ORDER BY c_custkey;
-- name: str_ascii_chr
SELECT r_regionkey, ASCII(r_name) AS a, CHR(65 + r_regionkey) AS c FROM region ORDER BY r_regionkey;
-- name: str_overlay
SELECT OVERLAY('abcdefgh' PLACING 'XY' FROM 3 FOR 2) AS o1, OVERLAY('abcdefgh' PLACING 'XYZ' FROM 2) AS o2;
-- name: str_like_patterns
SELECT p_partkey, p_name FROM part WHERE p_name LIKE '%green%' AND p_name LIKE 'f%' ORDER BY p_partkey;
-- name: str_not_like_underscore
SELECT count(*) AS cnt FROM part WHERE p_type NOT LIKE '%BRASS' AND p_container LIKE 'SM _A%';
-- name: str_like_escape
SELECT s, s LIKE 'a%' AS l1, s LIKE '_' AS l2, 'a_b' LIKE 'a!_b' ESCAPE '!' AS l3, 'axb' LIKE 'a!_b' ESCAPE '!' AS l4 FROM nulls ORDER BY id NULLS FIRST, s NULLS FIRST;
-- name: str_md5
SELECT r_regionkey, MD5(r_name) AS h FROM region ORDER BY r_regionkey;
-- name: str_compare
SELECT n_nationkey, n_name FROM nation WHERE n_name > 'J' AND n_name <= 'RUSSIA' ORDER BY n_name;
-- name: str_group_by_substring
SELECT SUBSTRING(c_phone FROM 1 FOR 2) AS cc, count(*) AS cnt FROM customer GROUP BY SUBSTRING(c_phone FROM 1 FOR 2) ORDER BY cc;
-- name: num_arith_int
SELECT n_nationkey, n_nationkey + n_regionkey AS a, n_nationkey - 10 AS b, n_nationkey * 3 AS c, n_nationkey / 4 AS d, MOD(n_nationkey, 4) AS e, -n_nationkey AS f FROM nation ORDER BY n_nationkey;
-- name: num_percent_mod
SELECT n_nationkey, n_nationkey % 7 AS m7, MOD(n_nationkey - 12, 5) AS mneg FROM nation ORDER BY n_nationkey;
-- name: num_abs_sign
SELECT id, d, ABS(d) AS ad, SIGN(d) AS sd, ABS(n) AS an, SIGN(n) AS sn FROM nulls ORDER BY id NULLS FIRST, s NULLS FIRST;
-- name: num_floor_ceil_round
SELECT p_partkey, p_retailprice, FLOOR(p_retailprice) AS fl, CEIL(p_retailprice) AS ce, ROUND(p_retailprice, 1) AS r1, ROUND(p_retailprice, -2) AS rm2, ROUND(p_retailprice) AS r0 FROM part WHERE p_partkey <= 12 ORDER BY p_partkey;
-- name: num_truncate
SELECT p_partkey, TRUNCATE(p_retailprice, 1) AS t1, TRUNCATE(p_retailprice, -1) AS tm1 FROM part WHERE p_partkey <= 8 ORDER BY p_partkey;
-- name: num_power_sqrt
SELECT n_nationkey, POWER(n_nationkey, 2) AS p2, SQRT(n_nationkey) AS sq, POWER(2.0, n_nationkey) AS p FROM nation WHERE n_nationkey <= 10 ORDER BY n_nationkey;
-- name: num_ln_log_exp
SELECT n_nationkey, LN(n_nationkey + 1) AS ln1, LOG10(n_nationkey + 1) AS lg, EXP(n_nationkey / 10.0) AS ex, LOG2(n_nationkey + 1) AS l2 FROM nation WHERE n_nationkey <= 8 ORDER BY n_nationkey;
-- name: num_trig
SELECT n_nationkey, SIN(n_nationkey) AS s, COS(n_nationkey) AS c, ATAN(n_nationkey) AS a FROM nation WHERE n_nationkey <= 5 ORDER BY n_nationkey;
-- name: num_double_ops
SELECT id, d, d * 2 AS d2, d / 4 AS dq, d + 0.5 AS dp, d - id AS dm FROM nulls ORDER BY id NULLS FIRST, s NULLS FIRST;
-- name: num_int_overflow_bigint
SELECT CAST(2147483647 AS BIGINT) + 1 AS a, CAST(9000000000 AS BIGINT) * 2 AS b, 2147483647 AS c;
-- name: num_literals
SELECT 1.5 AS a, 1.50 AS b, 1e3 AS c, -0.001 AS d, 100 AS e, CAST(1 AS TINYINT) AS f, CAST(2 AS SMALLINT) AS g;
-- name: dec_add_mixed_scale
SELECT l_orderkey, l_linenumber, l_extendedprice + l_discount AS a, l_extendedprice + 1.005 AS b, l_tax + 0.1 AS c FROM lineitem WHERE l_orderkey <= 3 ORDER BY l_orderkey, l_linenumber;
-- name: dec_sub_mul
SELECT l_orderkey, l_linenumber, l_extendedprice * (1 - l_discount) AS disc_price, l_extendedprice * (1 - l_discount) * (1 + l_tax) AS charge, l_quantity * 0.125 AS q FROM lineitem WHERE l_orderkey <= 4 ORDER BY l_orderkey, l_linenumber;
-- name: dec_div
SELECT l_orderkey, l_linenumber, l_extendedprice / l_quantity AS unit, l_extendedprice / 3 AS third, l_discount / 0.07 AS dd FROM lineitem WHERE l_orderkey <= 3 ORDER BY l_orderkey, l_linenumber;
-- name: dec_literal_arith
SELECT 1.1 + 2.25 AS a, 10.00 - 0.001 AS b, 1.5 * 1.5 AS c, 1.00 / 3 AS d, 2.000 / 0.5 AS e, 123.456 * 0.01 AS f;
-- name: dec_mixed_int_double
SELECT n, n + 1 AS ni, n * 2 AS nm, n + d AS nd, n / 2 AS nh, n * n AS nn FROM nulls ORDER BY id NULLS FIRST, s NULLS FIRST;
-- name: dec_sum_avg_scale
SELECT l_returnflag, SUM(l_discount) AS sd, AVG(l_discount) AS ad, SUM(l_extendedprice * l_discount) AS rev, MIN(l_tax) AS mt, MAX(l_tax) AS xt FROM lineitem GROUP BY l_returnflag ORDER BY l_returnflag;
-- name: dec_compare_int
SELECT count(*) AS cnt FROM lineitem WHERE l_quantity > 25 AND l_discount >= 0.05 AND l_tax < 0.04;
-- name: dec_round_results
SELECT o_orderpriority, ROUND(AVG(o_totalprice), 2) AS ap, ROUND(SUM(o_totalprice) / COUNT(*), 3) AS ap2 FROM orders GROUP BY o_orderpriority ORDER BY o_orderpriority;
-- name: dec_negative_mod
SELECT n, MOD(n, 3) AS m, n % 2.5 AS m2 FROM nulls WHERE n IS NOT NULL ORDER BY n, id;
-- name: cast_numeric
SELECT p_partkey, CAST(p_retailprice AS INT) AS i, CAST(p_retailprice AS DOUBLE) AS d, CAST(p_retailprice AS DECIMAL(10, 1)) AS d1, CAST(p_retailprice AS BIGINT) AS b FROM part WHERE p_partkey <= 10 ORDER BY p_partkey;
-- name: cast_to_string
SELECT o_orderkey, CAST(o_orderkey AS STRING) AS k, CAST(o_totalprice AS STRING) AS tp, CAST(o_orderdate AS STRING) AS od FROM orders WHERE o_orderkey <= 7 ORDER BY o_orderkey;
-- name: cast_from_string
SELECT CAST('123' AS INT) AS i, CAST(' 42 ' AS INT) AS i2, CAST('1.25' AS DECIMAL(5, 2)) AS d, CAST('2024-03-01' AS DATE) AS dt, CAST('true' AS BOOLEAN) AS b, CAST('3.5' AS DOUBLE) AS f;
-- name: cast_try_cast
SELECT TRY_CAST('abc' AS INT) AS a, TRY_CAST('12' AS INT) AS b, TRY_CAST('2024-13-01' AS DATE) AS c, TRY_CAST('x' AS DECIMAL(5, 2)) AS d;
-- name: cast_double_to_dec
SELECT id, d, CAST(d AS DECIMAL(10, 3)) AS dd, CAST(d AS INT) AS di, CAST(d AS STRING) AS ds FROM nulls ORDER BY id NULLS FIRST, s NULLS FIRST;
-- name: cast_int_to_dec_div
SELECT CAST(7 AS DECIMAL(10, 2)) / CAST(3 AS DECIMAL(10, 2)) AS a, CAST(1 AS DECIMAL(20, 10)) / 7 AS b, CAST(10 AS DOUBLE) / 4 AS c, 7 / 2 AS d, 7.0 / 2 AS e;
-- name: cast_bool_to_int_string
SELECT id, b, CAST(b AS STRING) AS bs, CASE WHEN b THEN 1 ELSE 0 END AS bi FROM nulls ORDER BY id NULLS FIRST, s NULLS FIRST;
-- name: cast_date_timestamp
SELECT o_orderkey, CAST(o_orderdate AS TIMESTAMP) AS ts, CAST(CAST(o_orderdate AS TIMESTAMP) AS DATE) AS back FROM orders WHERE o_orderkey <= 5 ORDER BY o_orderkey;
-- name: cond_case_searched
SELECT o_orderkey, CASE WHEN o_totalprice > 200000 THEN 'big' WHEN o_totalprice > 100000 THEN 'mid' ELSE 'small' END AS sz FROM orders WHERE o_orderkey <= 40 ORDER BY o_orderkey;
-- name: cond_case_simple
SELECT n_nationkey, CASE n_regionkey WHEN 0 THEN 'AF' WHEN 1 THEN 'AM' WHEN 2 THEN 'AS' ELSE 'OTHER' END AS r FROM nation ORDER BY n_nationkey;
-- name: cond_case_no_else
SELECT id, CASE WHEN d > 2 THEN d END AS big_d, CASE s WHEN 'a' THEN 1 WHEN 'b' THEN 2 END AS sa FROM nulls ORDER BY id NULLS FIRST, s NULLS FIRST;
-- name: cond_coalesce_nullif
SELECT id, COALESCE(s, 'none') AS s1, COALESCE(d, CAST(n AS DOUBLE), -1.0) AS d1, NULLIF(s, 'a') AS s2, NULLIF(id, 5) AS i2 FROM nulls ORDER BY id NULLS FIRST, s NULLS FIRST;
-- name: cond_if_ifnull
SELECT id, IF(d > 1, 'gt', 'le') AS a, IFNULL(n, 0) AS b, IFNULL(s, '?') AS c FROM nulls ORDER BY id NULLS FIRST, s NULLS FIRST;
-- name: cond_greatest_least
SELECT n_nationkey, GREATEST(n_nationkey, n_regionkey * 5) AS g, LEAST(n_nationkey, n_regionkey * 5, 7) AS l FROM nation ORDER BY n_nationkey;
-- name: cond_greatest_nulls
SELECT id, GREATEST(d, 2.0) AS g, LEAST(n, 1.00) AS l FROM nulls ORDER BY id NULLS FIRST, s NULLS FIRST;
-- name: cond_is_distinct_from
SELECT a.id AS a_id, b.id AS b_id, a.s IS DISTINCT FROM b.s AS dist, a.s IS NOT DISTINCT FROM b.s AS ndist, a.s = b.s AS eq FROM nulls a, nulls b WHERE a.id IN (1, 2, 4) AND b.id IN (1, 2, 5) ORDER BY a_id, b_id;
-- name: cond_boolean_logic_nulls
SELECT id, b, NOT b AS nb, b AND TRUE AS bt, b OR FALSE AS bf, b AND FALSE AS baf, b OR TRUE AS bot, b IS TRUE AS it, b IS NOT FALSE AS inf, b IS UNKNOWN AS iu FROM nulls ORDER BY id NULLS FIRST, s NULLS FIRST;
-- name: cond_between
SELECT p_partkey, p_size FROM part WHERE p_size BETWEEN 10 AND 12 AND p_partkey BETWEEN 1 AND 60 ORDER BY p_partkey;
-- name: cond_not_between_symmetric
SELECT count(*) AS c1, count(CASE WHEN p_size BETWEEN SYMMETRIC 20 AND 10 THEN 1 END) AS c2 FROM part WHERE p_size NOT BETWEEN 5 AND 45;
-- name: cond_in_list
SELECT n_nationkey, n_name FROM nation WHERE n_name IN ('FRANCE', 'GERMANY', 'JAPAN', 'NOWHERE') ORDER BY n_nationkey;
-- name: cond_not_in_list
SELECT n_nationkey FROM nation WHERE n_nationkey NOT IN (1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23) ORDER BY n_nationkey;
-- name: cond_in_list_nulls
SELECT id, id IN (1, 2, NULL) AS in1, id NOT IN (1, 2) AS nin, s IN ('a', 'b') AS sin FROM nulls ORDER BY id NULLS FIRST, s NULLS FIRST;
-- name: date_extract
SELECT o_orderkey, o_orderdate, EXTRACT(YEAR FROM o_orderdate) AS y, EXTRACT(MONTH FROM o_orderdate) AS m, EXTRACT(DAY FROM o_orderdate) AS d, EXTRACT(QUARTER FROM o_orderdate) AS q FROM orders WHERE o_orderkey <= 10 ORDER BY o_orderkey;
-- name: date_year_month_funcs
SELECT o_orderkey, YEAR(o_orderdate) AS y, MONTH(o_orderdate) AS m, DAYOFMONTH(o_orderdate) AS d, DAYOFWEEK(o_orderdate) AS dow, DAYOFYEAR(o_orderdate) AS doy, WEEK(o_orderdate) AS wk, QUARTER(o_orderdate) AS q FROM orders WHERE o_orderkey <= 10 ORDER BY o_orderkey;
-- name: date_interval_day
SELECT o_orderkey, o_orderdate + INTERVAL '30' DAY AS plus30, o_orderdate - INTERVAL '1' DAY AS minus1 FROM orders WHERE o_orderkey <= 6 ORDER BY o_orderkey;
-- name: date_interval_month_year
SELECT dt, dt + INTERVAL '1' MONTH AS pm, dt - INTERVAL '1' YEAR AS my, dt + INTERVAL '2-3' YEAR TO MONTH AS pym FROM nulls ORDER BY id NULLS FIRST, s NULLS FIRST;
-- name: date_month_end_arith
SELECT DATE '2024-01-31' + INTERVAL '1' MONTH AS a, DATE '2023-01-31' + INTERVAL '1' MONTH AS b, DATE '2024-02-29' + INTERVAL '1' YEAR AS c, DATE '2024-03-31' - INTERVAL '1' MONTH AS d;
-- name: date_compare_filter
SELECT count(*) AS cnt, MIN(o_orderdate) AS mn, MAX(o_orderdate) AS mx FROM orders WHERE o_orderdate >= DATE '1995-01-01' AND o_orderdate < DATE '1995-01-01' + INTERVAL '1' YEAR;
-- name: date_timestampdiff
SELECT l_orderkey, l_linenumber, TIMESTAMPDIFF(DAY, l_shipdate, l_receiptdate) AS ship_days, TIMESTAMPDIFF(MONTH, l_commitdate, l_receiptdate) AS mdiff FROM lineitem WHERE l_orderkey <= 5 ORDER BY l_orderkey, l_linenumber;
-- name: date_timestampadd
SELECT o_orderkey, TIMESTAMPADD(DAY, 10, o_orderdate) AS a, TIMESTAMPADD(MONTH, 1, o_orderdate) AS b FROM orders WHERE o_orderkey <= 5 ORDER BY o_orderkey;
-- name: date_format_fn
SELECT o_orderkey, DATE_FORMAT(CAST(o_orderdate AS TIMESTAMP), 'yyyy/MM/dd') AS f1, DATE_FORMAT(CAST(o_orderdate AS TIMESTAMP), 'MM-yyyy') AS f2 FROM orders WHERE o_orderkey <= 5 ORDER BY o_orderkey;
-- name: date_floor_ceil
SELECT o_orderkey, o_orderdate, FLOOR(o_orderdate TO MONTH) AS fm, FLOOR(o_orderdate TO YEAR) AS fy, CEIL(o_orderdate TO MONTH) AS cm FROM orders WHERE o_orderkey <= 6 ORDER BY o_orderkey;
-- name: date_group_by_year
SELECT EXTRACT(YEAR FROM o_orderdate) AS y, count(*) AS cnt, SUM(o_totalprice) AS tot FROM orders GROUP BY EXTRACT(YEAR FROM o_orderdate) ORDER BY y;
-- name: date_timestamp_literals
SELECT TIMESTAMP '2024-02-29 23:59:59' + INTERVAL '1' SECOND AS a, TIMESTAMP '2024-01-01 00:00:00.123' AS b, CAST(TIMESTAMP '2024-05-06 07:08:09' AS DATE) AS c, DATE '2000-01-01' AS d;
-- name: date_timestamp_interval
SELECT TIMESTAMP '2024-01-01 10:00:00' + INTERVAL '90' MINUTE AS a, TIMESTAMP '2024-01-01 10:00:00' - INTERVAL '2' HOUR AS b, TIMESTAMP '2024-01-31 10:00:00' + INTERVAL '1' MONTH AS c, TIMESTAMP '2024-01-01 00:00:00' + INTERVAL '1 02:03:04' DAY TO SECOND AS d;
-- name: date_extract_timestamp
SELECT EXTRACT(HOUR FROM TIMESTAMP '2024-01-01 13:14:15') AS h, EXTRACT(MINUTE FROM TIMESTAMP '2024-01-01 13:14:15') AS mi, EXTRACT(SECOND FROM TIMESTAMP '2024-01-01 13:14:15') AS s, HOUR(TIMESTAMP '2024-01-01 13:14:15') AS h2;
-- name: date_nulls
SELECT id, dt, dt + INTERVAL '7' DAY AS nxt, EXTRACT(YEAR FROM dt) AS y, dt > DATE '2020-01-01' AS recent FROM nulls ORDER BY id NULLS FIRST, s NULLS FIRST;
-- name: date_to_date_fn
SELECT TO_DATE('2024-03-15') AS a, TO_DATE('15/03/2024', 'dd/MM/yyyy') AS b, TO_TIMESTAMP('2024-03-15 12:30:00') AS c;
-- name: date_between_dates
SELECT count(*) AS cnt FROM lineitem WHERE l_shipdate BETWEEN DATE '1994-01-01' AND DATE '1994-12-31' AND l_receiptdate > l_commitdate;
-- name: agg_count_variants
SELECT COUNT(*) AS c_all, COUNT(id) AS c_id, COUNT(s) AS c_s, COUNT(d) AS c_d, COUNT(n) AS c_n, COUNT(dt) AS c_dt, COUNT(b) AS c_b FROM nulls;
-- name: agg_sum_avg_nulls
SELECT SUM(id) AS si, AVG(id) AS ai, SUM(d) AS sd, AVG(d) AS ad, SUM(n) AS sn, AVG(n) AS an, MIN(n) AS mn, MAX(n) AS mx FROM nulls;
-- name: agg_min_max_types
SELECT MIN(s) AS mins, MAX(s) AS maxs, MIN(dt) AS mindt, MAX(dt) AS maxdt, MIN(d) AS mind, MAX(d) AS maxd FROM nulls;
-- name: agg_empty_input
SELECT COUNT(*) AS c, SUM(l_quantity) AS s, AVG(l_quantity) AS a, MIN(l_shipdate) AS mn, MAX(l_comment) AS mx FROM lineitem WHERE l_orderkey < 0;
-- name: agg_empty_group
SELECT l_returnflag, COUNT(*) AS c FROM lineitem WHERE l_orderkey < 0 GROUP BY l_returnflag;
-- name: agg_count_distinct
SELECT COUNT(DISTINCT l_suppkey) AS ds, COUNT(DISTINCT l_partkey) AS dp, COUNT(DISTINCT l_shipmode) AS dm, COUNT(*) AS c FROM lineitem;
-- name: agg_count_distinct_grouped
SELECT l_shipmode, COUNT(DISTINCT l_suppkey) AS ds, COUNT(DISTINCT l_orderkey) AS dord, SUM(l_quantity) AS q FROM lineitem GROUP BY l_shipmode ORDER BY l_shipmode;
-- name: agg_sum_distinct
SELECT SUM(DISTINCT p_size) AS sd, AVG(DISTINCT p_size) AS ad, COUNT(DISTINCT p_size) AS cd FROM part;
-- name: agg_stddev_var
SELECT STDDEV_POP(d) AS sp, STDDEV_SAMP(d) AS ss, VAR_POP(d) AS vp, VAR_SAMP(d) AS vs, STDDEV(d) AS sd, VARIANCE(d) AS v FROM nulls;
-- name: agg_stddev_grouped
SELECT o_orderpriority, STDDEV_POP(CAST(o_totalprice AS DOUBLE)) AS sp, STDDEV_SAMP(CAST(o_totalprice AS DOUBLE)) AS ss FROM orders GROUP BY o_orderpriority ORDER BY o_orderpriority;
-- name: agg_stddev_decimal
SELECT l_linestatus, STDDEV_POP(l_quantity) AS sp, VAR_SAMP(l_discount) AS vs FROM lineitem GROUP BY l_linestatus ORDER BY l_linestatus;
-- name: agg_avg_int
SELECT n_regionkey, AVG(n_nationkey) AS a, AVG(CAST(n_nationkey AS DOUBLE)) AS ad, SUM(n_nationkey) AS s FROM nation GROUP BY n_regionkey ORDER BY n_regionkey;
-- name: agg_bool_min_max
SELECT MIN(b) AS mn, MAX(b) AS mx, COUNT(b) AS cb, SUM(CASE WHEN b THEN 1 ELSE 0 END) AS nt FROM nulls;
-- name: agg_filter_clause
SELECT COUNT(*) FILTER (WHERE l_returnflag = 'R') AS r, SUM(l_quantity) FILTER (WHERE l_shipmode = 'AIR') AS air_q, COUNT(DISTINCT l_suppkey) FILTER (WHERE l_discount > 0.08) AS ds FROM lineitem;
-- name: agg_listagg
SELECT n_regionkey, CHAR_LENGTH(LISTAGG(n_name, ';')) AS len, CHAR_LENGTH(LISTAGG(n_name)) AS len2, COUNT(*) AS c FROM nation GROUP BY n_regionkey ORDER BY n_regionkey;
-- name: agg_group_by_two_keys
SELECT l_returnflag, l_linestatus, COUNT(*) AS c, SUM(l_extendedprice) AS s, MIN(l_shipdate) AS mn, MAX(l_shipdate) AS mx FROM lineitem GROUP BY l_returnflag, l_linestatus ORDER BY l_returnflag, l_linestatus;
-- name: agg_group_by_expression
SELECT p_size / 10 AS bucket, COUNT(*) AS c, AVG(p_retailprice) AS ap FROM part GROUP BY p_size / 10 ORDER BY bucket;
-- name: agg_group_by_nulls
SELECT s, COUNT(*) AS c, SUM(d) AS sd, COUNT(id) AS ci FROM nulls GROUP BY s ORDER BY s NULLS FIRST;
-- name: agg_group_by_bool_date
SELECT b, COUNT(*) AS c, MAX(dt) AS mdt FROM nulls GROUP BY b ORDER BY b NULLS LAST;
-- name: agg_having_count
SELECT c_nationkey, COUNT(*) AS c FROM customer GROUP BY c_nationkey HAVING COUNT(*) > 60 ORDER BY c_nationkey;
-- name: agg_having_sum_decimal
SELECT o_custkey, SUM(o_totalprice) AS tot, COUNT(*) AS c FROM orders GROUP BY o_custkey HAVING SUM(o_totalprice) > 3500000 ORDER BY o_custkey;
-- name: agg_having_no_group_by_col
SELECT p_brand, MAX(p_retailprice) AS mx FROM part GROUP BY p_brand HAVING MIN(p_size) = 1 AND COUNT(DISTINCT p_container) > 35 ORDER BY p_brand;
-- name: agg_having_without_group
SELECT COUNT(*) AS c FROM nation HAVING COUNT(*) > 10;
-- name: agg_having_avg_nulls
SELECT s, AVG(d) AS ad FROM nulls GROUP BY s HAVING AVG(d) > 1 OR AVG(d) IS NULL ORDER BY s NULLS FIRST;
-- name: agg_case_inside
SELECT o_orderstatus, SUM(CASE WHEN o_orderpriority LIKE '1%' THEN 1 ELSE 0 END) AS urgent, SUM(CASE WHEN o_orderpriority LIKE '5%' THEN o_totalprice END) AS low_total FROM orders GROUP BY o_orderstatus ORDER BY o_orderstatus;
-- name: agg_distinct_select
SELECT DISTINCT l_shipmode, l_returnflag FROM lineitem ORDER BY l_shipmode, l_returnflag;
-- name: agg_distinct_nulls
SELECT DISTINCT s FROM nulls ORDER BY s NULLS FIRST;
-- name: agg_max_of_expression
SELECT MAX(l_extendedprice * (1 - l_discount)) AS mx, MIN(l_extendedprice * (1 - l_discount) * (1 + l_tax)) AS mn FROM lineitem;
-- name: agg_count_star_group_all_tables
SELECT 'region' AS t, COUNT(*) AS c FROM region UNION ALL SELECT 'nation', COUNT(*) FROM nation UNION ALL SELECT 'supplier', COUNT(*) FROM supplier UNION ALL SELECT 'customer', COUNT(*) FROM customer UNION ALL SELECT 'part', COUNT(*) FROM part UNION ALL SELECT 'partsupp', COUNT(*) FROM partsupp UNION ALL SELECT 'orders', COUNT(*) FROM orders UNION ALL SELECT 'lineitem', COUNT(*) FROM lineitem;
-- name: agg_first_last_deterministic
SELECT n_regionkey, MIN(n_name) AS first_name, MAX(n_name) AS last_name, COUNT(*) AS c FROM nation GROUP BY n_regionkey ORDER BY n_regionkey;
-- name: join_inner_basic
SELECT n.n_name, r.r_name FROM nation n JOIN region r ON n.n_regionkey = r.r_regionkey ORDER BY n.n_name;
-- name: join_inner_using
SELECT n_name, COUNT(*) AS suppliers FROM supplier JOIN nation ON s_nationkey = n_nationkey GROUP BY n_name ORDER BY n_name;
-- name: join_implicit_comma
SELECT r_name, COUNT(*) AS c FROM customer, nation, region WHERE c_nationkey = n_nationkey AND n_regionkey = r_regionkey GROUP BY r_name ORDER BY r_name;
-- name: join_three_way_agg
SELECT c.c_mktsegment, COUNT(DISTINCT o.o_orderkey) AS ords, SUM(l.l_quantity) AS qty FROM customer c JOIN orders o ON c.c_custkey = o.o_custkey JOIN lineitem l ON l.l_orderkey = o.o_orderkey GROUP BY c.c_mktsegment ORDER BY c.c_mktsegment;
-- name: join_left_outer
SELECT c.c_custkey, COUNT(o.o_orderkey) AS ords FROM customer c LEFT JOIN orders o ON c.c_custkey = o.o_custkey WHERE c.c_custkey <= 30 GROUP BY c.c_custkey ORDER BY c.c_custkey;
-- name: join_left_outer_null_rows
SELECT c.c_custkey, o.o_orderkey FROM customer c LEFT OUTER JOIN orders o ON c.c_custkey = o.o_custkey WHERE c.c_custkey <= 12 AND (o.o_orderkey IS NULL OR o.o_orderkey < 3000) ORDER BY c.c_custkey, o.o_orderkey NULLS FIRST;
-- name: join_left_on_extra_predicate
SELECT c.c_custkey, COUNT(o.o_orderkey) AS urgent_orders FROM customer c LEFT JOIN orders o ON c.c_custkey = o.o_custkey AND o.o_orderpriority = '1-URGENT' WHERE c.c_custkey <= 20 GROUP BY c.c_custkey ORDER BY c.c_custkey;
-- name: join_right_outer
SELECT r.r_name, n.n_name FROM nation n RIGHT JOIN region r ON n.n_regionkey = r.r_regionkey AND n.n_name LIKE 'A%' ORDER BY r.r_name, n.n_name NULLS FIRST;
-- name: join_full_outer
SELECT a.id AS aid, a.s AS a_s, b.id AS bid, b.s AS b_s FROM (SELECT id, s FROM nulls WHERE id <= 5) a FULL OUTER JOIN (SELECT id, s FROM nulls WHERE id >= 3) b ON a.id = b.id - 2 ORDER BY aid NULLS FIRST, bid NULLS FIRST;
-- name: join_full_outer_agg
SELECT COUNT(*) AS c, COUNT(n.n_nationkey) AS cn, COUNT(s.s_suppkey) AS cs FROM nation n FULL OUTER JOIN supplier s ON n.n_nationkey = s.s_nationkey AND s.s_acctbal > 9000;
-- name: join_null_keys_inner
SELECT a.id, a.s, b.id AS bid FROM nulls a JOIN nulls b ON a.s = b.s ORDER BY a.id NULLS FIRST, b.id NULLS FIRST;
-- name: join_null_keys_left
SELECT a.id, a.s, b.id AS bid FROM nulls a LEFT JOIN nulls b ON a.s = b.s AND a.id <> b.id ORDER BY a.id NULLS FIRST, a.s NULLS FIRST, bid NULLS FIRST;
-- name: join_null_keys_full
SELECT a.id AS aid, b.id AS bid FROM (SELECT id, dt FROM nulls WHERE id < 6 OR id IS NULL) a FULL JOIN (SELECT id, dt FROM nulls WHERE id > 4 OR id IS NULL) b ON a.dt = b.dt ORDER BY aid NULLS FIRST, bid NULLS FIRST;
-- name: join_cross
SELECT r.r_name, x.v FROM region r CROSS JOIN (VALUES (1), (2)) AS x(v) ORDER BY r.r_name, x.v;
-- name: join_cross_count
SELECT COUNT(*) AS c FROM nation CROSS JOIN region;
-- name: join_self
SELECT n1.n_name AS a, n2.n_name AS b FROM nation n1 JOIN nation n2 ON n1.n_regionkey = n2.n_regionkey AND n1.n_nationkey < n2.n_nationkey WHERE n1.n_regionkey = 3 ORDER BY a, b;
-- name: join_self_orders_same_customer
SELECT o1.o_custkey, COUNT(*) AS pairs FROM orders o1 JOIN orders o2 ON o1.o_custkey = o2.o_custkey AND o1.o_orderkey < o2.o_orderkey WHERE o1.o_custkey <= 10 GROUP BY o1.o_custkey ORDER BY o1.o_custkey;
-- name: join_non_equi
SELECT p.p_partkey, COUNT(*) AS c FROM part p JOIN region r ON p.p_size BETWEEN r.r_regionkey * 10 AND r.r_regionkey * 10 + 5 WHERE p.p_partkey <= 20 GROUP BY p.p_partkey ORDER BY p.p_partkey;
-- name: join_theta_inequality
SELECT a.n_nationkey, COUNT(b.n_nationkey) AS smaller FROM nation a LEFT JOIN nation b ON b.n_nationkey < a.n_nationkey AND b.n_regionkey = a.n_regionkey GROUP BY a.n_nationkey ORDER BY a.n_nationkey;
-- name: join_semi_exists
SELECT s_suppkey, s_name FROM supplier s WHERE EXISTS (SELECT 1 FROM partsupp ps WHERE ps.ps_suppkey = s.s_suppkey AND ps.ps_availqty < 20) ORDER BY s_suppkey;
-- name: join_semi_in
SELECT c_custkey FROM customer WHERE c_custkey IN (SELECT o_custkey FROM orders WHERE o_totalprice > 400000) ORDER BY c_custkey;
-- name: join_anti_not_exists
SELECT COUNT(*) AS c FROM customer c WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.o_custkey = c.c_custkey);
-- name: join_anti_not_in
SELECT COUNT(*) AS c FROM customer WHERE c_custkey NOT IN (SELECT o_custkey FROM orders);
-- name: join_anti_not_in_with_null
SELECT id FROM nulls WHERE id NOT IN (SELECT id FROM nulls WHERE s = 'a') ORDER BY id;
-- name: join_anti_not_in_nonnull_sub
SELECT id FROM nulls WHERE id NOT IN (SELECT id FROM nulls WHERE id IS NOT NULL AND id > 6) ORDER BY id NULLS FIRST;
-- name: join_in_null_semantics
SELECT id, s FROM nulls WHERE s IN (SELECT s FROM nulls WHERE id > 9) ORDER BY id NULLS FIRST, s;
-- name: join_anti_not_exists_nulls
SELECT a.id, a.s FROM nulls a WHERE NOT EXISTS (SELECT 1 FROM nulls b WHERE b.s = a.s AND b.id > a.id) ORDER BY a.id NULLS FIRST, a.s NULLS FIRST;
-- name: join_semi_exists_uncorrelated
SELECT r_name FROM region WHERE EXISTS (SELECT 1 FROM nation WHERE n_nationkey > 100) OR r_regionkey = 2 ORDER BY r_name;
-- name: join_multi_key
SELECT COUNT(*) AS c, SUM(l.l_quantity) AS q FROM lineitem l JOIN partsupp ps ON l.l_partkey = ps.ps_partkey AND l.l_suppkey = ps.ps_suppkey WHERE ps.ps_availqty > 9000;
-- name: join_subquery_derived
SELECT t.n_name, t.cnt FROM (SELECT n.n_name, COUNT(*) AS cnt FROM customer c JOIN nation n ON c.c_nationkey = n.n_nationkey GROUP BY n.n_name) t WHERE t.cnt > 60 ORDER BY t.n_name;
-- name: join_cross_unnest
SELECT r.r_regionkey, v.k FROM region r CROSS JOIN UNNEST(ARRAY[r.r_regionkey * 10, r.r_regionkey * 10 + 1]) AS v(k) ORDER BY r.r_regionkey, v.k;
-- name: join_left_with_coalesce
SELECT n.n_name, COALESCE(SUM(s.s_acctbal), 0) AS bal FROM nation n LEFT JOIN supplier s ON s.s_nationkey = n.n_nationkey AND s.s_acctbal > 8000 GROUP BY n.n_name ORDER BY n.n_name;
-- name: join_four_way_region_revenue
SELECT r.r_name, SUM(l.l_extendedprice * (1 - l.l_discount)) AS rev FROM lineitem l JOIN supplier s ON l.l_suppkey = s.s_suppkey JOIN nation n ON s.s_nationkey = n.n_nationkey JOIN region r ON n.n_regionkey = r.r_regionkey GROUP BY r.r_name ORDER BY r.r_name;
-- name: set_union
SELECT n_regionkey AS k FROM nation UNION SELECT r_regionkey FROM region;
-- name: set_union_all
SELECT n_regionkey AS k FROM nation WHERE n_nationkey < 8 UNION ALL SELECT r_regionkey FROM region;
-- name: set_union_all_count
SELECT COUNT(*) AS c FROM (SELECT c_nationkey AS k FROM customer UNION ALL SELECT s_nationkey FROM supplier) t;
-- name: set_union_nulls
SELECT s FROM nulls UNION SELECT s FROM nulls WHERE id > 100;
-- name: set_union_mixed_types
SELECT id AS v FROM nulls WHERE id < 3 UNION ALL SELECT CAST(d AS INT) FROM nulls WHERE d > 3;
-- name: set_union_decimal_scales
SELECT CAST(1.5 AS DECIMAL(5, 1)) AS v UNION ALL SELECT CAST(2.25 AS DECIMAL(6, 2)) UNION ALL SELECT CAST(100 AS DECIMAL(10, 0));
-- name: set_intersect
SELECT c_nationkey FROM customer INTERSECT SELECT s_nationkey FROM supplier WHERE s_acctbal > 5000;
-- name: set_intersect_all
SELECT n_regionkey FROM nation INTERSECT ALL SELECT n_regionkey FROM nation WHERE n_nationkey < 12;
-- name: set_intersect_nulls
SELECT s, b FROM nulls INTERSECT SELECT s, b FROM nulls WHERE id IS NULL OR id > 5;
-- name: set_except
SELECT n_nationkey FROM nation EXCEPT SELECT c_nationkey FROM customer WHERE c_acctbal > 9900;
-- name: set_except_all
SELECT n_regionkey FROM nation EXCEPT ALL SELECT r_regionkey FROM region;
-- name: set_except_nulls
SELECT s FROM nulls EXCEPT SELECT s FROM nulls WHERE id = 1;
-- name: set_union_order_limit
SELECT k FROM (SELECT n_nationkey AS k FROM nation UNION SELECT r_regionkey * 100 FROM region) t ORDER BY k DESC LIMIT 7;
-- name: set_nested_ops
(SELECT n_nationkey AS k FROM nation WHERE n_regionkey = 1 UNION SELECT n_nationkey FROM nation WHERE n_regionkey = 2) EXCEPT SELECT n_nationkey FROM nation WHERE n_name LIKE '%A%';
-- name: win_row_number_global
SELECT n_nationkey, n_name, ROW_NUMBER() OVER (ORDER BY n_name) AS rn FROM nation;
-- name: win_row_number_partitioned
SELECT n_nationkey, n_regionkey, ROW_NUMBER() OVER (PARTITION BY n_regionkey ORDER BY n_nationkey DESC) AS rn FROM nation;
-- name: win_rank_dense_rank
SELECT p_partkey, p_size, RANK() OVER (ORDER BY p_size) AS rk, DENSE_RANK() OVER (ORDER BY p_size) AS drk FROM part WHERE p_partkey <= 30;
-- name: win_rank_partitioned_ties
SELECT o_orderkey, o_orderpriority, o_orderstatus, RANK() OVER (PARTITION BY o_orderpriority ORDER BY o_orderstatus) AS rk, DENSE_RANK() OVER (PARTITION BY o_orderpriority ORDER BY o_orderstatus DESC) AS drk FROM orders WHERE o_orderkey <= 60;
-- name: win_percent_rank_cume_dist
SELECT n_nationkey, n_regionkey, PERCENT_RANK() OVER (ORDER BY n_regionkey) AS pr, CUME_DIST() OVER (ORDER BY n_nationkey) AS cd FROM nation;
-- name: win_ntile
SELECT n_nationkey, NTILE(4) OVER (ORDER BY n_nationkey) AS q FROM nation;
-- name: win_lag_lead
SELECT o_orderkey, o_totalprice, LAG(o_totalprice) OVER (ORDER BY o_orderkey) AS prv, LEAD(o_totalprice) OVER (ORDER BY o_orderkey) AS nxt FROM orders WHERE o_orderkey <= 40;
-- name: win_lag_lead_offset_default
SELECT o_orderkey, o_custkey, LAG(o_orderkey, 2, CAST(-1 AS BIGINT)) OVER (PARTITION BY o_custkey ORDER BY o_orderkey) AS lag2, LEAD(o_orderdate, 1) OVER (PARTITION BY o_custkey ORDER BY o_orderkey) AS next_date FROM orders WHERE o_custkey <= 8;
-- name: win_first_last_value
SELECT n_nationkey, n_regionkey, FIRST_VALUE(n_name) OVER (PARTITION BY n_regionkey ORDER BY n_nationkey) AS fv, LAST_VALUE(n_name) OVER (PARTITION BY n_regionkey ORDER BY n_nationkey ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS lv FROM nation;
-- name: win_sum_running_rows
SELECT o_orderkey, o_totalprice, SUM(o_totalprice) OVER (ORDER BY o_orderkey ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS run_sum FROM orders WHERE o_orderkey <= 50;
-- name: win_sum_sliding_rows
SELECT o_orderkey, SUM(o_totalprice) OVER (ORDER BY o_orderkey ROWS BETWEEN 2 PRECEDING AND 1 FOLLOWING) AS s4, AVG(o_totalprice) OVER (ORDER BY o_orderkey ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING) AS a3, COUNT(*) OVER (ORDER BY o_orderkey ROWS BETWEEN 3 PRECEDING AND CURRENT ROW) AS c FROM orders WHERE o_orderkey <= 50;
-- name: win_sum_range_default
SELECT p_partkey, p_size, SUM(p_retailprice) OVER (ORDER BY p_size) AS cum, COUNT(*) OVER (ORDER BY p_size) AS cnt FROM part WHERE p_partkey <= 40;
-- name: win_sum_range_numeric
SELECT p_partkey, p_size, SUM(p_size) OVER (ORDER BY p_size RANGE BETWEEN 5 PRECEDING AND CURRENT ROW) AS s5, COUNT(*) OVER (ORDER BY p_size RANGE BETWEEN 2 PRECEDING AND 2 FOLLOWING) AS c2 FROM part WHERE p_partkey <= 40;
-- name: win_range_unbounded_following
SELECT n_nationkey, n_regionkey, SUM(n_nationkey) OVER (PARTITION BY n_regionkey ORDER BY n_nationkey RANGE BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) AS rest FROM nation;
-- name: win_partition_no_order
SELECT n_nationkey, n_regionkey, COUNT(*) OVER (PARTITION BY n_regionkey) AS cnt, SUM(n_nationkey) OVER (PARTITION BY n_regionkey) AS s, MAX(n_name) OVER (PARTITION BY n_regionkey) AS mx FROM nation;
-- name: win_whole_table
SELECT r_regionkey, COUNT(*) OVER () AS total, SUM(r_regionkey) OVER () AS s FROM region;
-- name: win_min_max_partitioned_running
SELECT o_orderkey, o_custkey, MIN(o_totalprice) OVER (PARTITION BY o_custkey ORDER BY o_orderkey) AS mn, MAX(o_totalprice) OVER (PARTITION BY o_custkey ORDER BY o_orderkey ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS mx FROM orders WHERE o_custkey <= 10;
-- name: win_top_n_per_group
SELECT * FROM (SELECT c_nationkey, c_custkey, c_acctbal, ROW_NUMBER() OVER (PARTITION BY c_nationkey ORDER BY c_acctbal DESC, c_custkey) AS rn FROM customer) t WHERE rn <= 2;
-- name: win_rank_over_aggregate
SELECT o_orderpriority, cnt, RANK() OVER (ORDER BY cnt DESC) AS rk FROM (SELECT o_orderpriority, COUNT(*) AS cnt FROM orders GROUP BY o_orderpriority) t;
-- name: win_nulls_partition_order
SELECT id, s, d, ROW_NUMBER() OVER (PARTITION BY s ORDER BY id NULLS FIRST) AS rn, SUM(d) OVER (PARTITION BY s) AS sd, COUNT(d) OVER (PARTITION BY s) AS cd FROM nulls WHERE id IS NOT NULL OR s IS NOT NULL;
-- name: win_rank_nulls_order
SELECT id, d, RANK() OVER (ORDER BY d NULLS LAST) AS rk, DENSE_RANK() OVER (ORDER BY d DESC NULLS LAST) AS drk FROM nulls;
-- name: win_lag_nulls
SELECT id, n, LAG(n) OVER (ORDER BY id) AS prev_n, LEAD(s, 1, 'zz') OVER (ORDER BY id) AS next_s FROM nulls WHERE id IS NOT NULL;
-- name: win_avg_decimal
SELECT l_linenumber, l_orderkey, AVG(l_quantity) OVER (PARTITION BY l_orderkey) AS aq, SUM(l_extendedprice) OVER (PARTITION BY l_orderkey ORDER BY l_linenumber) AS run FROM lineitem WHERE l_orderkey <= 7;
-- name: win_multiple_specs
SELECT n_nationkey, n_regionkey, ROW_NUMBER() OVER (ORDER BY n_nationkey) AS rn, RANK() OVER (PARTITION BY n_regionkey ORDER BY n_name) AS rk, SUM(n_nationkey) OVER (PARTITION BY n_regionkey ORDER BY n_nationkey ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS s2 FROM nation;
-- name: win_filter_after_window
SELECT n_name, n_regionkey, c FROM (SELECT n_name, n_regionkey, COUNT(*) OVER (PARTITION BY n_regionkey) AS c, ROW_NUMBER() OVER (PARTITION BY n_regionkey ORDER BY n_name) AS rn FROM nation) t WHERE rn = 1;
-- name: win_running_count_distinct_days
SELECT o_orderdate, cnt, SUM(cnt) OVER (ORDER BY o_orderdate ROWS BETWEEN 6 PRECEDING AND CURRENT ROW) AS wk FROM (SELECT o_orderdate, COUNT(*) AS cnt FROM orders WHERE o_orderdate < DATE '1992-02-15' GROUP BY o_orderdate) t;
-- name: win_range_date_interval
SELECT o_orderdate, cnt, SUM(cnt) OVER (ORDER BY o_orderdate RANGE BETWEEN INTERVAL '6' DAY PRECEDING AND CURRENT ROW) AS wk FROM (SELECT o_orderdate, COUNT(*) AS cnt FROM orders WHERE o_orderdate < DATE '1992-02-15' GROUP BY o_orderdate) t;
-- name: gs_grouping_sets
SELECT l_returnflag, l_linestatus, COUNT(*) AS c, SUM(l_quantity) AS q FROM lineitem GROUP BY GROUPING SETS ((l_returnflag, l_linestatus), (l_returnflag), ()) ;
-- name: gs_rollup
SELECT r_name, n_name, COUNT(*) AS c FROM customer JOIN nation ON c_nationkey = n_nationkey JOIN region ON n_regionkey = r_regionkey GROUP BY ROLLUP (r_name, n_name);
-- name: gs_cube
SELECT l_shipmode, l_returnflag, COUNT(*) AS c, SUM(l_discount) AS sd FROM lineitem WHERE l_shipmode IN ('AIR', 'RAIL', 'SHIP') GROUP BY CUBE (l_shipmode, l_returnflag);
-- name: gs_grouping_function
SELECT o_orderstatus, o_orderpriority, GROUPING(o_orderstatus) AS g1, GROUPING(o_orderpriority) AS g2, COUNT(*) AS c FROM orders GROUP BY ROLLUP (o_orderstatus, o_orderpriority);
-- name: gs_grouping_id
SELECT p_mfgr, p_size / 25 AS sb, GROUPING_ID(p_mfgr, p_size / 25) AS gid, COUNT(*) AS c FROM part GROUP BY CUBE (p_mfgr, p_size / 25);
-- name: gs_nulls_vs_rollup_nulls
SELECT s, b, GROUPING(s) AS gs, GROUPING(b) AS gb, COUNT(*) AS c FROM nulls GROUP BY GROUPING SETS ((s), (b), ());
-- name: gs_rollup_having
SELECT n_regionkey, n_nationkey, COUNT(*) AS c FROM nation GROUP BY ROLLUP (n_regionkey, n_nationkey) HAVING COUNT(*) > 1;
-- name: gs_cube_three
SELECT b, dt IS NULL AS dtnull, s IS NULL AS snull, COUNT(*) AS c FROM nulls GROUP BY CUBE (b, dt IS NULL, s IS NULL);
-- name: sub_scalar_uncorrelated
SELECT p_partkey, p_retailprice FROM part WHERE p_retailprice > (SELECT AVG(p_retailprice) * 1.3 FROM part) ORDER BY p_partkey LIMIT 50;
-- name: sub_scalar_in_select
SELECT r_name, (SELECT COUNT(*) FROM nation n WHERE n.n_regionkey = r.r_regionkey) AS nations FROM region r ORDER BY r_name;
-- name: sub_scalar_correlated_where
SELECT c_custkey, c_acctbal FROM customer c WHERE c_acctbal > (SELECT AVG(c2.c_acctbal) FROM customer c2 WHERE c2.c_nationkey = c.c_nationkey) + 4500 ORDER BY c_custkey;
-- name: sub_scalar_correlated_max
SELECT o_custkey, o_orderkey, o_totalprice FROM orders o WHERE o_totalprice = (SELECT MAX(o2.o_totalprice) FROM orders o2 WHERE o2.o_custkey = o.o_custkey) AND o_custkey <= 25 ORDER BY o_custkey, o_orderkey;
-- name: sub_scalar_empty_result
SELECT r_name, (SELECT MAX(n_name) FROM nation WHERE n_regionkey = r_regionkey AND n_nationkey > 20) AS mx FROM region ORDER BY r_name;
-- name: sub_in_uncorrelated
SELECT n_name FROM nation WHERE n_regionkey IN (SELECT r_regionkey FROM region WHERE r_name LIKE 'A%') ORDER BY n_name;
-- name: sub_in_correlated
SELECT s_suppkey FROM supplier s WHERE s_suppkey IN (SELECT ps_suppkey FROM partsupp WHERE ps_partkey < 10 AND ps_availqty > s.s_suppkey * 50) ORDER BY s_suppkey;
-- name: sub_not_in_correlated
SELECT r_regionkey FROM region r WHERE r_regionkey NOT IN (SELECT n_regionkey FROM nation n WHERE n.n_name < r.r_name) ORDER BY r_regionkey;
-- name: sub_in_tuple
SELECT COUNT(*) AS c FROM lineitem WHERE (l_partkey, l_suppkey) IN (SELECT ps_partkey, ps_suppkey FROM partsupp WHERE ps_supplycost < 20);
-- name: sub_exists_correlated_agg
SELECT o_orderpriority, COUNT(*) AS c FROM orders o WHERE EXISTS (SELECT 1 FROM lineitem l WHERE l.l_orderkey = o.o_orderkey AND l.l_shipmode = 'MAIL' AND l.l_quantity > 45) GROUP BY o_orderpriority ORDER BY o_orderpriority;
-- name: sub_not_exists_correlated
SELECT p_partkey FROM part p WHERE NOT EXISTS (SELECT 1 FROM lineitem l WHERE l.l_partkey = p.p_partkey AND l.l_quantity >= 49) ORDER BY p_partkey LIMIT 100;
-- name: sub_exists_or_condition
SELECT n_nationkey FROM nation n WHERE n_regionkey = 0 OR EXISTS (SELECT 1 FROM supplier s WHERE s.s_nationkey = n.n_nationkey AND s.s_acctbal > 9500) ORDER BY n_nationkey;
-- name: sub_compare_any_all
SELECT n_nationkey FROM nation WHERE n_nationkey > ALL (SELECT r_regionkey * 5 FROM region) ORDER BY n_nationkey;
-- name: sub_compare_some
SELECT n_nationkey FROM nation WHERE n_nationkey < SOME (SELECT r_regionkey FROM region) ORDER BY n_nationkey;
-- name: sub_derived_table_agg_of_agg
SELECT MAX(cnt) AS mx, MIN(cnt) AS mn, AVG(cnt) AS av, COUNT(*) AS grp_cnt FROM (SELECT o_custkey, COUNT(*) AS cnt FROM orders GROUP BY o_custkey) t;
-- name: sub_nested_in_having
SELECT c_nationkey, COUNT(*) AS c FROM customer GROUP BY c_nationkey HAVING COUNT(*) > (SELECT COUNT(*) / 25 FROM customer) ORDER BY c_nationkey;
-- name: sub_scalar_in_case
SELECT n_nationkey, CASE WHEN n_nationkey > (SELECT AVG(n_nationkey) FROM nation) THEN 'hi' ELSE 'lo' END AS half FROM nation ORDER BY n_nationkey;
-- name: sub_scalar_null_compare
SELECT id FROM nulls WHERE d > (SELECT AVG(d) FROM nulls) ORDER BY id;
-- name: sub_in_select_list_exists
SELECT r_regionkey, EXISTS (SELECT 1 FROM nation WHERE n_regionkey = r_regionkey AND n_name LIKE 'C%') AS has_c FROM region ORDER BY r_regionkey;
-- name: cte_simple
WITH big AS (SELECT o_orderkey, o_totalprice FROM orders WHERE o_totalprice > 450000) SELECT COUNT(*) AS c, MIN(o_totalprice) AS mn FROM big;
-- name: cte_multiple
WITH cs AS (SELECT c_nationkey, COUNT(*) AS nc FROM customer GROUP BY c_nationkey), ss AS (SELECT s_nationkey, COUNT(*) AS ns FROM supplier GROUP BY s_nationkey) SELECT n_name, nc, ns FROM nation LEFT JOIN cs ON cs.c_nationkey = n_nationkey LEFT JOIN ss ON ss.s_nationkey = n_nationkey ORDER BY n_name;
-- name: cte_referenced_twice
WITH t AS (SELECT n_regionkey, COUNT(*) AS c FROM nation GROUP BY n_regionkey) SELECT a.n_regionkey, a.c, b.c AS total FROM t a CROSS JOIN (SELECT SUM(c) AS c FROM t) b ORDER BY a.n_regionkey;
-- name: cte_chained
WITH a AS (SELECT o_custkey, SUM(o_totalprice) AS tot FROM orders GROUP BY o_custkey), b AS (SELECT o_custkey, tot, RANK() OVER (ORDER BY tot DESC) AS rk FROM a) SELECT o_custkey, tot, rk FROM b WHERE rk <= 10;
-- name: cte_with_union
WITH x AS (SELECT n_name AS nm FROM nation WHERE n_regionkey = 0 UNION ALL SELECT r_name FROM region) SELECT nm FROM x ORDER BY nm;
-- name: values_simple
SELECT * FROM (VALUES (1, 'a', 1.5), (2, 'b', 2.25), (3, CAST(NULL AS STRING), CAST(NULL AS DECIMAL(3, 2)))) AS t(a, b, c);
-- name: values_types
SELECT * FROM (VALUES (CAST(1 AS BIGINT), DATE '2020-01-01', TRUE), (CAST(2 AS BIGINT), DATE '2020-12-31', FALSE)) AS t(k, dt, flag);
-- name: values_agg
SELECT k, SUM(v) AS s, COUNT(*) AS c FROM (VALUES ('x', 1), ('y', 2), ('x', 3), ('z', CAST(NULL AS INT))) AS t(k, v) GROUP BY k;
-- name: values_join
SELECT n.n_name, t.label FROM nation n JOIN (VALUES (0, 'zero'), (5, 'five'), (24, 'last')) AS t(k, label) ON n.n_nationkey = t.k ORDER BY n.n_name;
-- name: values_decimal_mix
SELECT v, v * 2 AS v2 FROM (VALUES (1.5), (2.25), (10)) AS t(v);
-- name: values_string_lengths
SELECT w, CHAR_LENGTH(w) AS len FROM (VALUES ('a'), ('bbb'), ('cc')) AS t(w);
-- name: values_in_select_no_from
SELECT 1 + 1 AS two, 'x' AS x, CAST(NULL AS INT) AS nothing, TRUE AS t;
-- name: order_limit_basic
SELECT c_custkey, c_name, c_acctbal FROM customer ORDER BY c_acctbal DESC, c_custkey LIMIT 10;
-- name: order_limit_offset
SELECT o_orderkey, o_totalprice FROM orders ORDER BY o_totalprice, o_orderkey LIMIT 5 OFFSET 10;
-- name: order_fetch_first
SELECT p_partkey, p_name FROM part ORDER BY p_name DESC, p_partkey FETCH FIRST 8 ROWS ONLY;
-- name: order_by_expression
SELECT n_nationkey, n_name FROM nation ORDER BY CHAR_LENGTH(n_name) DESC, n_name LIMIT 10;
-- name: order_by_ordinal_alias
SELECT n_regionkey AS rk, COUNT(*) AS c FROM nation GROUP BY n_regionkey ORDER BY c DESC, rk;
-- name: order_by_nulls_first_last
SELECT id, d FROM nulls ORDER BY d DESC NULLS FIRST, id NULLS LAST;
-- name: order_by_nulls_default_asc
SELECT id, n FROM nulls WHERE id IS NOT NULL ORDER BY n, id;
-- name: order_by_nulls_default_desc
SELECT id, n FROM nulls WHERE id IS NOT NULL ORDER BY n DESC, id;
-- name: order_by_string_case
SELECT w FROM (VALUES ('b'), ('B'), ('a'), ('A'), ('_'), ('aa'), ('Z'), ('1')) AS t(w) ORDER BY w;
-- name: order_limit_after_join
SELECT o.o_orderkey, c.c_name, o.o_totalprice FROM orders o JOIN customer c ON o.o_custkey = c.c_custkey ORDER BY o.o_totalprice DESC, o.o_orderkey LIMIT 15;
-- name: order_limit_zero
SELECT n_name FROM nation ORDER BY n_name LIMIT 0;
-- name: order_limit_in_subquery
SELECT SUM(o_totalprice) AS top_sum FROM (SELECT o_totalprice FROM orders ORDER BY o_totalprice DESC, o_orderkey LIMIT 100) t;
-- name: order_by_date_desc
SELECT l_orderkey, l_linenumber, l_shipdate FROM lineitem ORDER BY l_shipdate DESC, l_orderkey, l_linenumber LIMIT 12;
-- name: order_by_decimal_neg
SELECT c_custkey, c_acctbal FROM customer WHERE c_acctbal < 0 ORDER BY c_acctbal, c_custkey LIMIT 20;
-- name: null_arith_propagation
SELECT id, id + 1 AS a, d * CAST(NULL AS DOUBLE) AS b, n - n AS c, s || 'x' AS e, CONCAT(s, 'x') AS f FROM nulls ORDER BY id NULLS FIRST, s NULLS FIRST;
-- name: null_comparisons
SELECT id, id = CAST(NULL AS INT) AS eqn, id > 5 AS gt, s = '' AS is_empty, s IS NULL AS sn, s <> 'a' AS ne FROM nulls ORDER BY id NULLS FIRST, s NULLS FIRST;
-- name: null_where_filters
SELECT id FROM nulls WHERE NOT (d > 2) ORDER BY id;
-- name: null_empty_string_vs_null
SELECT id, s, s IS NULL AS isn, CHAR_LENGTH(s) AS len, UPPER(s) AS up FROM nulls ORDER BY id NULLS FIRST, s NULLS FIRST;
-- name: null_case_when_null
SELECT id, CASE WHEN b THEN 'T' WHEN NOT b THEN 'F' ELSE 'U' END AS tri, CASE b WHEN TRUE THEN 1 WHEN FALSE THEN 0 END AS simple FROM nulls ORDER BY id NULLS FIRST, s NULLS FIRST;
-- name: null_coalesce_types
SELECT id, COALESCE(n, CAST(d AS DECIMAL(10, 2)), 0) AS c1, COALESCE(dt, DATE '1900-01-01') AS c2, COALESCE(b, FALSE) AS c3 FROM nulls ORDER BY id NULLS FIRST, s NULLS FIRST;
-- name: null_agg_all_null_group
SELECT s IS NULL AS sn, SUM(n) AS sn_sum, AVG(d) AS ad, MAX(dt) AS mdt, COUNT(n) AS cn FROM nulls WHERE id = 4 OR id IS NULL GROUP BY s IS NULL;
-- name: null_string_functions
SELECT id, SUBSTRING(s FROM 1 FOR 1) AS f, REPLACE(s, 'a', 'b') AS r, TRIM(s) AS t, LPAD(s, 3, '-') AS p, POSITION('a' IN s) AS pos FROM nulls ORDER BY id NULLS FIRST, s NULLS FIRST;
-- name: null_numeric_functions
SELECT id, ABS(n) AS a, ROUND(d, 1) AS r, FLOOR(n) AS f, POWER(d, 2) AS p, MOD(id, 3) AS m FROM nulls ORDER BY id NULLS FIRST, s NULLS FIRST;
-- name: null_cast_nulls
SELECT id, TRY_CAST(s AS INT) AS si, CAST(n AS STRING) AS ns, CAST(dt AS STRING) AS ds, CAST(id AS DOUBLE) AS idd FROM nulls WHERE s IS NULL OR s IN ('a', 'b') ORDER BY id NULLS FIRST;
-- name: null_join_coalesce_key
SELECT a.id, b.id AS bid FROM nulls a JOIN nulls b ON COALESCE(a.s, '#') = COALESCE(b.s, '#') AND COALESCE(a.id, -1) < COALESCE(b.id, -1) ORDER BY a.id NULLS FIRST, bid;
-- name: null_order_group_mixed
SELECT dt, COUNT(*) AS c, SUM(n) AS sn FROM nulls GROUP BY dt ORDER BY dt NULLS FIRST;
-- name: null_distinct_count_multi
SELECT COUNT(DISTINCT s) AS ds, COUNT(DISTINCT dt) AS ddt, COUNT(DISTINCT b) AS db, COUNT(DISTINCT n) AS dn FROM nulls;
-- name: null_window_sum
SELECT id, n, SUM(n) OVER (ORDER BY id ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS s2 FROM nulls WHERE id IS NOT NULL;
-- name: null_in_subquery_select_list
SELECT id, id IN (SELECT id FROM nulls WHERE b) AS in_b FROM nulls WHERE id IS NOT NULL ORDER BY id;
-- name: null_min_max_bool_string
SELECT b, MIN(s) AS mn, MAX(s) AS mx, MIN(id) AS mi FROM nulls GROUP BY b ORDER BY b NULLS FIRST;
-- name: join_cross_unnest_unqualified
SELECT r_regionkey, k FROM region CROSS JOIN UNNEST(ARRAY[r_regionkey * 10, r_regionkey * 10 + 1]) AS v(k) WHERE k > 10 ORDER BY r_regionkey, k;
-- name: join_cross_unnest_split
SELECT n_nationkey, w, CHAR_LENGTH(w) AS len FROM nation, UNNEST(SPLIT(n_name, 'A')) AS t(w) WHERE n_nationkey < 8;
