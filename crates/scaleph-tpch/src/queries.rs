//! The 22 TPC-H queries (spec v3.0.1, validation parameters) as Flink SQL.
//!
//! The `SELECT` texts are plain SQL that Flink, the embedded engine and DuckDB all accept, so
//! the same text serves the jobs and the reference results.

/// The eight tables and their columns with Flink types.
pub const TABLES: &[(&str, &[(&str, &str)])] = &[
    (
        "nation",
        &[
            ("n_nationkey", "BIGINT"),
            ("n_name", "STRING"),
            ("n_regionkey", "BIGINT"),
            ("n_comment", "STRING"),
        ],
    ),
    (
        "region",
        &[
            ("r_regionkey", "BIGINT"),
            ("r_name", "STRING"),
            ("r_comment", "STRING"),
        ],
    ),
    (
        "part",
        &[
            ("p_partkey", "BIGINT"),
            ("p_name", "STRING"),
            ("p_mfgr", "STRING"),
            ("p_brand", "STRING"),
            ("p_type", "STRING"),
            ("p_size", "INT"),
            ("p_container", "STRING"),
            ("p_retailprice", "DECIMAL(15, 2)"),
            ("p_comment", "STRING"),
        ],
    ),
    (
        "supplier",
        &[
            ("s_suppkey", "BIGINT"),
            ("s_name", "STRING"),
            ("s_address", "STRING"),
            ("s_nationkey", "BIGINT"),
            ("s_phone", "STRING"),
            ("s_acctbal", "DECIMAL(15, 2)"),
            ("s_comment", "STRING"),
        ],
    ),
    (
        "customer",
        &[
            ("c_custkey", "BIGINT"),
            ("c_name", "STRING"),
            ("c_address", "STRING"),
            ("c_nationkey", "BIGINT"),
            ("c_phone", "STRING"),
            ("c_acctbal", "DECIMAL(15, 2)"),
            ("c_mktsegment", "STRING"),
            ("c_comment", "STRING"),
        ],
    ),
    (
        "partsupp",
        &[
            ("ps_partkey", "BIGINT"),
            ("ps_suppkey", "BIGINT"),
            ("ps_availqty", "INT"),
            ("ps_supplycost", "DECIMAL(15, 2)"),
            ("ps_comment", "STRING"),
        ],
    ),
    (
        "orders",
        &[
            ("o_orderkey", "BIGINT"),
            ("o_custkey", "BIGINT"),
            ("o_orderstatus", "STRING"),
            ("o_totalprice", "DECIMAL(15, 2)"),
            ("o_orderdate", "DATE"),
            ("o_orderpriority", "STRING"),
            ("o_clerk", "STRING"),
            ("o_shippriority", "INT"),
            ("o_comment", "STRING"),
        ],
    ),
    (
        "lineitem",
        &[
            ("l_orderkey", "BIGINT"),
            ("l_partkey", "BIGINT"),
            ("l_suppkey", "BIGINT"),
            ("l_linenumber", "INT"),
            ("l_quantity", "DECIMAL(15, 2)"),
            ("l_extendedprice", "DECIMAL(15, 2)"),
            ("l_discount", "DECIMAL(15, 2)"),
            ("l_tax", "DECIMAL(15, 2)"),
            ("l_returnflag", "STRING"),
            ("l_linestatus", "STRING"),
            ("l_shipdate", "DATE"),
            ("l_commitdate", "DATE"),
            ("l_receiptdate", "DATE"),
            ("l_shipinstruct", "STRING"),
            ("l_shipmode", "STRING"),
            ("l_comment", "STRING"),
        ],
    ),
];

/// One TPC-H query.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Query {
    /// `q1` … `q22`.
    pub name: &'static str,
    /// Views the query needs: (name with column list, defining SELECT).
    pub views: &'static [(&'static str, &'static str)],
    /// The SELECT.
    pub sql: &'static str,
    /// Result columns with the Flink types of the CSV sink (computed values as DOUBLE).
    pub sink: &'static [(&'static str, &'static str)],
    /// True when the result order is defined by ORDER BY.
    pub ordered: bool,
}

/// `CREATE TABLE` for one TPC-H table stored under `data_dir/<table>` in `format`.
pub fn table_ddl(table: &str, data_dir: &str, format: &str) -> String {
    let cols = TABLES
        .iter()
        .find(|(n, _)| *n == table)
        .map(|t| t.1)
        .unwrap_or(&[]);
    let cols: Vec<String> = cols.iter().map(|(n, t)| format!("  {n} {t}")).collect();
    format!(
        "CREATE TABLE {table} (\n{}\n) WITH (\n  'connector' = 'filesystem',\n  'path' = '{data_dir}/{table}',\n  'format' = '{format}'\n);\n",
        cols.join(",\n")
    )
}

/// The job script of a query: table DDL, the CSV sink at `out_dir/<query>`, views, and
/// `INSERT OVERWRITE` into the sink (re-runs replace the previous result).
pub fn job_script(q: &Query, data_dir: &str, out_dir: &str) -> String {
    script(
        q,
        data_dir,
        &format!(
            "'connector' = 'filesystem',\n  'path' = '{out_dir}/{}',\n  'format' = 'csv'",
            q.name
        ),
    )
}

/// The query as a script whose result goes to a `blackhole` sink (for benchmarks: the result is
/// computed and consumed, nothing is written).
pub fn blackhole_script(q: &Query, data_dir: &str) -> String {
    script(q, data_dir, "'connector' = 'blackhole'")
}

fn script(q: &Query, data_dir: &str, sink_options: &str) -> String {
    let mut s = format!(
        "-- TPC-H {} on the filesystem connector\nSET 'execution.runtime-mode' = 'batch';\nSET 'parallelism.default' = '2';\n\n",
        q.name.to_uppercase()
    );
    for (t, _) in TABLES {
        if q.sql.contains(t) || q.views.iter().any(|v| v.1.contains(t)) {
            s.push_str(&table_ddl(t, data_dir, "parquet"));
            s.push('\n');
        }
    }
    let cols: Vec<String> = q.sink.iter().map(|(n, t)| format!("  {n} {t}")).collect();
    s.push_str(&format!(
        "CREATE TABLE {name}_result (\n{}\n) WITH (\n  {sink_options}\n);\n\n",
        cols.join(",\n"),
        name = q.name
    ));
    for (v, body) in q.views {
        s.push_str(&format!("CREATE TEMPORARY VIEW {v} AS\n{body};\n\n"));
    }
    s.push_str(&format!(
        "INSERT OVERWRITE {}_result\n{};\n",
        q.name,
        q.sql.trim()
    ));
    s
}

const D: &str = "DOUBLE";
const B: &str = "BIGINT";
const S: &str = "STRING";

/// All 22 queries.
pub const QUERIES: [Query; 22] = [
    Query { name: "q1", views: &[], ordered: true,
        sink: &[("l_returnflag", S), ("l_linestatus", S), ("sum_qty", D), ("sum_base_price", D), ("sum_disc_price", D), ("sum_charge", D), ("avg_qty", D), ("avg_price", D), ("avg_disc", D), ("count_order", B)],
        sql: "SELECT l_returnflag, l_linestatus, SUM(l_quantity) AS sum_qty, SUM(l_extendedprice) AS sum_base_price,
  SUM(l_extendedprice * (1 - l_discount)) AS sum_disc_price, SUM(l_extendedprice * (1 - l_discount) * (1 + l_tax)) AS sum_charge,
  AVG(l_quantity) AS avg_qty, AVG(l_extendedprice) AS avg_price, AVG(l_discount) AS avg_disc, COUNT(*) AS count_order
FROM lineitem
WHERE l_shipdate <= DATE '1998-12-01' - INTERVAL '90' DAY
GROUP BY l_returnflag, l_linestatus
ORDER BY l_returnflag, l_linestatus" },
    Query { name: "q2", views: &[], ordered: true,
        sink: &[("s_acctbal", D), ("s_name", S), ("n_name", S), ("p_partkey", B), ("p_mfgr", S), ("s_address", S), ("s_phone", S), ("s_comment", S)],
        sql: "SELECT s_acctbal, s_name, n_name, p_partkey, p_mfgr, s_address, s_phone, s_comment
FROM part, supplier, partsupp, nation, region
WHERE p_partkey = ps_partkey AND s_suppkey = ps_suppkey AND p_size = 15 AND p_type LIKE '%BRASS'
  AND s_nationkey = n_nationkey AND n_regionkey = r_regionkey AND r_name = 'EUROPE'
  AND ps_supplycost = (
    SELECT MIN(ps_supplycost) FROM partsupp, supplier, nation, region
    WHERE p_partkey = ps_partkey AND s_suppkey = ps_suppkey AND s_nationkey = n_nationkey
      AND n_regionkey = r_regionkey AND r_name = 'EUROPE')
ORDER BY s_acctbal DESC, n_name, s_name, p_partkey
LIMIT 100" },
    Query { name: "q3", views: &[], ordered: true,
        sink: &[("l_orderkey", B), ("revenue", D), ("o_orderdate", "DATE"), ("o_shippriority", "INT")],
        sql: "SELECT l_orderkey, SUM(l_extendedprice * (1 - l_discount)) AS revenue, o_orderdate, o_shippriority
FROM customer, orders, lineitem
WHERE c_mktsegment = 'BUILDING' AND c_custkey = o_custkey AND l_orderkey = o_orderkey
  AND o_orderdate < DATE '1995-03-15' AND l_shipdate > DATE '1995-03-15'
GROUP BY l_orderkey, o_orderdate, o_shippriority
ORDER BY revenue DESC, o_orderdate, l_orderkey
LIMIT 10" },
    Query { name: "q4", views: &[], ordered: true,
        sink: &[("o_orderpriority", S), ("order_count", B)],
        sql: "SELECT o_orderpriority, COUNT(*) AS order_count
FROM orders
WHERE o_orderdate >= DATE '1993-07-01' AND o_orderdate < DATE '1993-07-01' + INTERVAL '3' MONTH
  AND EXISTS (SELECT * FROM lineitem WHERE l_orderkey = o_orderkey AND l_commitdate < l_receiptdate)
GROUP BY o_orderpriority
ORDER BY o_orderpriority" },
    Query { name: "q5", views: &[], ordered: true,
        sink: &[("n_name", S), ("revenue", D)],
        sql: "SELECT n_name, SUM(l_extendedprice * (1 - l_discount)) AS revenue
FROM customer, orders, lineitem, supplier, nation, region
WHERE c_custkey = o_custkey AND l_orderkey = o_orderkey AND l_suppkey = s_suppkey
  AND c_nationkey = s_nationkey AND s_nationkey = n_nationkey AND n_regionkey = r_regionkey
  AND r_name = 'ASIA' AND o_orderdate >= DATE '1994-01-01' AND o_orderdate < DATE '1994-01-01' + INTERVAL '1' YEAR
GROUP BY n_name
ORDER BY revenue DESC" },
    Query { name: "q6", views: &[], ordered: false,
        sink: &[("revenue", D)],
        sql: "SELECT SUM(l_extendedprice * l_discount) AS revenue
FROM lineitem
WHERE l_shipdate >= DATE '1994-01-01' AND l_shipdate < DATE '1994-01-01' + INTERVAL '1' YEAR
  AND l_discount BETWEEN 0.05 AND 0.07 AND l_quantity < 24" },
    Query { name: "q7", views: &[], ordered: true,
        sink: &[("supp_nation", S), ("cust_nation", S), ("l_year", B), ("revenue", D)],
        sql: "SELECT supp_nation, cust_nation, l_year, SUM(volume) AS revenue
FROM (
  SELECT n1.n_name AS supp_nation, n2.n_name AS cust_nation, EXTRACT(YEAR FROM l_shipdate) AS l_year,
    l_extendedprice * (1 - l_discount) AS volume
  FROM supplier, lineitem, orders, customer, nation n1, nation n2
  WHERE s_suppkey = l_suppkey AND o_orderkey = l_orderkey AND c_custkey = o_custkey
    AND s_nationkey = n1.n_nationkey AND c_nationkey = n2.n_nationkey
    AND ((n1.n_name = 'FRANCE' AND n2.n_name = 'GERMANY') OR (n1.n_name = 'GERMANY' AND n2.n_name = 'FRANCE'))
    AND l_shipdate BETWEEN DATE '1995-01-01' AND DATE '1996-12-31'
) AS shipping
GROUP BY supp_nation, cust_nation, l_year
ORDER BY supp_nation, cust_nation, l_year" },
    Query { name: "q8", views: &[], ordered: true,
        sink: &[("o_year", B), ("mkt_share", D)],
        sql: "SELECT o_year, SUM(CASE WHEN nation = 'BRAZIL' THEN volume ELSE 0 END) / SUM(volume) AS mkt_share
FROM (
  SELECT EXTRACT(YEAR FROM o_orderdate) AS o_year, l_extendedprice * (1 - l_discount) AS volume, n2.n_name AS nation
  FROM part, supplier, lineitem, orders, customer, nation n1, nation n2, region
  WHERE p_partkey = l_partkey AND s_suppkey = l_suppkey AND l_orderkey = o_orderkey AND o_custkey = c_custkey
    AND c_nationkey = n1.n_nationkey AND n1.n_regionkey = r_regionkey AND r_name = 'AMERICA'
    AND s_nationkey = n2.n_nationkey AND o_orderdate BETWEEN DATE '1995-01-01' AND DATE '1996-12-31'
    AND p_type = 'ECONOMY ANODIZED STEEL'
) AS all_nations
GROUP BY o_year
ORDER BY o_year" },
    Query { name: "q9", views: &[], ordered: true,
        sink: &[("nation", S), ("o_year", B), ("sum_profit", D)],
        sql: "SELECT nation, o_year, SUM(amount) AS sum_profit
FROM (
  SELECT n_name AS nation, EXTRACT(YEAR FROM o_orderdate) AS o_year,
    l_extendedprice * (1 - l_discount) - ps_supplycost * l_quantity AS amount
  FROM part, supplier, lineitem, partsupp, orders, nation
  WHERE s_suppkey = l_suppkey AND ps_suppkey = l_suppkey AND ps_partkey = l_partkey AND p_partkey = l_partkey
    AND o_orderkey = l_orderkey AND s_nationkey = n_nationkey AND p_name LIKE '%green%'
) AS profit
GROUP BY nation, o_year
ORDER BY nation, o_year DESC" },
    Query { name: "q10", views: &[], ordered: true,
        sink: &[("c_custkey", B), ("c_name", S), ("revenue", D), ("c_acctbal", D), ("n_name", S), ("c_address", S), ("c_phone", S), ("c_comment", S)],
        sql: "SELECT c_custkey, c_name, SUM(l_extendedprice * (1 - l_discount)) AS revenue, c_acctbal, n_name, c_address, c_phone, c_comment
FROM customer, orders, lineitem, nation
WHERE c_custkey = o_custkey AND l_orderkey = o_orderkey AND o_orderdate >= DATE '1993-10-01'
  AND o_orderdate < DATE '1993-10-01' + INTERVAL '3' MONTH AND l_returnflag = 'R' AND c_nationkey = n_nationkey
GROUP BY c_custkey, c_name, c_acctbal, c_phone, n_name, c_address, c_comment
ORDER BY revenue DESC, c_custkey
LIMIT 20" },
    Query { name: "q11", views: &[], ordered: true,
        sink: &[("ps_partkey", B), ("part_value", D)],
        sql: "SELECT ps_partkey, SUM(ps_supplycost * ps_availqty) AS part_value
FROM partsupp, supplier, nation
WHERE ps_suppkey = s_suppkey AND s_nationkey = n_nationkey AND n_name = 'GERMANY'
GROUP BY ps_partkey
HAVING SUM(ps_supplycost * ps_availqty) > (
  SELECT SUM(ps_supplycost * ps_availqty) * 0.0001 FROM partsupp, supplier, nation
  WHERE ps_suppkey = s_suppkey AND s_nationkey = n_nationkey AND n_name = 'GERMANY')
ORDER BY part_value DESC, ps_partkey" },
    Query { name: "q12", views: &[], ordered: true,
        sink: &[("l_shipmode", S), ("high_line_count", B), ("low_line_count", B)],
        sql: "SELECT l_shipmode,
  SUM(CASE WHEN o_orderpriority = '1-URGENT' OR o_orderpriority = '2-HIGH' THEN 1 ELSE 0 END) AS high_line_count,
  SUM(CASE WHEN o_orderpriority <> '1-URGENT' AND o_orderpriority <> '2-HIGH' THEN 1 ELSE 0 END) AS low_line_count
FROM orders, lineitem
WHERE o_orderkey = l_orderkey AND l_shipmode IN ('MAIL', 'SHIP') AND l_commitdate < l_receiptdate
  AND l_shipdate < l_commitdate AND l_receiptdate >= DATE '1994-01-01' AND l_receiptdate < DATE '1994-01-01' + INTERVAL '1' YEAR
GROUP BY l_shipmode
ORDER BY l_shipmode" },
    Query { name: "q13", views: &[], ordered: true,
        sink: &[("c_count", B), ("custdist", B)],
        sql: "SELECT c_count, COUNT(*) AS custdist
FROM (
  SELECT c_custkey, COUNT(o_orderkey) AS c_count
  FROM customer LEFT OUTER JOIN orders ON c_custkey = o_custkey AND o_comment NOT LIKE '%special%requests%'
  GROUP BY c_custkey
) AS c_orders
GROUP BY c_count
ORDER BY custdist DESC, c_count DESC" },
    Query { name: "q14", views: &[], ordered: false,
        sink: &[("promo_revenue", D)],
        sql: "SELECT 100.00 * SUM(CASE WHEN p_type LIKE 'PROMO%' THEN l_extendedprice * (1 - l_discount) ELSE 0 END)
  / SUM(l_extendedprice * (1 - l_discount)) AS promo_revenue
FROM lineitem, part
WHERE l_partkey = p_partkey AND l_shipdate >= DATE '1995-09-01' AND l_shipdate < DATE '1995-09-01' + INTERVAL '1' MONTH" },
    Query { name: "q15",
        views: &[("revenue0 (supplier_no, total_revenue)", "SELECT l_suppkey, SUM(l_extendedprice * (1 - l_discount))
FROM lineitem
WHERE l_shipdate >= DATE '1996-01-01' AND l_shipdate < DATE '1996-01-01' + INTERVAL '3' MONTH
GROUP BY l_suppkey")],
        ordered: true,
        sink: &[("s_suppkey", B), ("s_name", S), ("s_address", S), ("s_phone", S), ("total_revenue", D)],
        sql: "SELECT s_suppkey, s_name, s_address, s_phone, total_revenue
FROM supplier, revenue0
WHERE s_suppkey = supplier_no AND total_revenue = (SELECT MAX(total_revenue) FROM revenue0)
ORDER BY s_suppkey" },
    Query { name: "q16", views: &[], ordered: true,
        sink: &[("p_brand", S), ("p_type", S), ("p_size", "INT"), ("supplier_cnt", B)],
        sql: "SELECT p_brand, p_type, p_size, COUNT(DISTINCT ps_suppkey) AS supplier_cnt
FROM partsupp, part
WHERE p_partkey = ps_partkey AND p_brand <> 'Brand#45' AND p_type NOT LIKE 'MEDIUM POLISHED%'
  AND p_size IN (49, 14, 23, 45, 19, 3, 36, 9)
  AND ps_suppkey NOT IN (SELECT s_suppkey FROM supplier WHERE s_comment LIKE '%Customer%Complaints%')
GROUP BY p_brand, p_type, p_size
ORDER BY supplier_cnt DESC, p_brand, p_type, p_size" },
    Query { name: "q17", views: &[], ordered: false,
        sink: &[("avg_yearly", D)],
        sql: "SELECT SUM(l_extendedprice) / 7.0 AS avg_yearly
FROM lineitem, part
WHERE p_partkey = l_partkey AND p_brand = 'Brand#23' AND p_container = 'MED BOX'
  AND l_quantity < (SELECT 0.2 * AVG(l_quantity) FROM lineitem WHERE l_partkey = p_partkey)" },
    Query { name: "q18", views: &[], ordered: true,
        sink: &[("c_name", S), ("c_custkey", B), ("o_orderkey", B), ("o_orderdate", "DATE"), ("o_totalprice", D), ("sum_qty", D)],
        sql: "SELECT c_name, c_custkey, o_orderkey, o_orderdate, o_totalprice, SUM(l_quantity) AS sum_qty
FROM customer, orders, lineitem
WHERE o_orderkey IN (SELECT l_orderkey FROM lineitem GROUP BY l_orderkey HAVING SUM(l_quantity) > 300)
  AND c_custkey = o_custkey AND o_orderkey = l_orderkey
GROUP BY c_name, c_custkey, o_orderkey, o_orderdate, o_totalprice
ORDER BY o_totalprice DESC, o_orderdate, o_orderkey
LIMIT 100" },
    Query { name: "q19", views: &[], ordered: false,
        sink: &[("revenue", D)],
        sql: "SELECT SUM(l_extendedprice * (1 - l_discount)) AS revenue
FROM lineitem, part
WHERE (p_partkey = l_partkey AND p_brand = 'Brand#12' AND p_container IN ('SM CASE', 'SM BOX', 'SM PACK', 'SM PKG')
    AND l_quantity >= 1 AND l_quantity <= 1 + 10 AND p_size BETWEEN 1 AND 5
    AND l_shipmode IN ('AIR', 'AIR REG') AND l_shipinstruct = 'DELIVER IN PERSON')
  OR (p_partkey = l_partkey AND p_brand = 'Brand#23' AND p_container IN ('MED BAG', 'MED BOX', 'MED PKG', 'MED PACK')
    AND l_quantity >= 10 AND l_quantity <= 10 + 10 AND p_size BETWEEN 1 AND 10
    AND l_shipmode IN ('AIR', 'AIR REG') AND l_shipinstruct = 'DELIVER IN PERSON')
  OR (p_partkey = l_partkey AND p_brand = 'Brand#34' AND p_container IN ('LG CASE', 'LG BOX', 'LG PACK', 'LG PKG')
    AND l_quantity >= 20 AND l_quantity <= 20 + 10 AND p_size BETWEEN 1 AND 15
    AND l_shipmode IN ('AIR', 'AIR REG') AND l_shipinstruct = 'DELIVER IN PERSON')" },
    Query { name: "q20", views: &[], ordered: true,
        sink: &[("s_name", S), ("s_address", S)],
        sql: "SELECT s_name, s_address
FROM supplier, nation
WHERE s_suppkey IN (
    SELECT ps_suppkey FROM partsupp
    WHERE ps_partkey IN (SELECT p_partkey FROM part WHERE p_name LIKE 'forest%')
      AND ps_availqty > (
        SELECT 0.5 * SUM(l_quantity) FROM lineitem
        WHERE l_partkey = ps_partkey AND l_suppkey = ps_suppkey
          AND l_shipdate >= DATE '1994-01-01' AND l_shipdate < DATE '1994-01-01' + INTERVAL '1' YEAR))
  AND s_nationkey = n_nationkey AND n_name = 'CANADA'
ORDER BY s_name" },
    Query { name: "q21", views: &[], ordered: true,
        sink: &[("s_name", S), ("numwait", B)],
        sql: "SELECT s_name, COUNT(*) AS numwait
FROM supplier, lineitem l1, orders, nation
WHERE s_suppkey = l1.l_suppkey AND o_orderkey = l1.l_orderkey AND o_orderstatus = 'F'
  AND l1.l_receiptdate > l1.l_commitdate
  AND EXISTS (SELECT * FROM lineitem l2 WHERE l2.l_orderkey = l1.l_orderkey AND l2.l_suppkey <> l1.l_suppkey)
  AND NOT EXISTS (SELECT * FROM lineitem l3 WHERE l3.l_orderkey = l1.l_orderkey AND l3.l_suppkey <> l1.l_suppkey
    AND l3.l_receiptdate > l3.l_commitdate)
  AND s_nationkey = n_nationkey AND n_name = 'SAUDI ARABIA'
GROUP BY s_name
ORDER BY numwait DESC, s_name
LIMIT 100" },
    Query { name: "q22", views: &[], ordered: true,
        sink: &[("cntrycode", S), ("numcust", B), ("totacctbal", D)],
        sql: "SELECT cntrycode, COUNT(*) AS numcust, SUM(c_acctbal) AS totacctbal
FROM (
  SELECT SUBSTRING(c_phone FROM 1 FOR 2) AS cntrycode, c_acctbal
  FROM customer
  WHERE SUBSTRING(c_phone FROM 1 FOR 2) IN ('13', '31', '23', '29', '30', '18', '17')
    AND c_acctbal > (SELECT AVG(c_acctbal) FROM customer WHERE c_acctbal > 0.00
      AND SUBSTRING(c_phone FROM 1 FOR 2) IN ('13', '31', '23', '29', '30', '18', '17'))
    AND NOT EXISTS (SELECT * FROM orders WHERE o_custkey = c_custkey)
) AS custsale
GROUP BY cntrycode
ORDER BY cntrycode" },
];
