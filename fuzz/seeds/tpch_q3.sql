-- TPC-H Q3 on the filesystem connector (tables cut to the columns it reads)
SET 'parallelism.default' = '2';
CREATE TABLE customer (c_custkey BIGINT, c_mktsegment STRING)
  WITH ('connector' = 'filesystem', 'path' = '/data/customer', 'format' = 'parquet');
CREATE TABLE orders (o_orderkey BIGINT, o_custkey BIGINT, o_orderdate DATE, o_shippriority INT)
  WITH ('connector' = 'filesystem', 'path' = '/data/orders', 'format' = 'parquet');
CREATE TABLE lineitem (l_orderkey BIGINT, l_extendedprice DECIMAL(15, 2), l_discount DECIMAL(15, 2), l_shipdate DATE)
  WITH ('connector' = 'filesystem', 'path' = '/data/lineitem', 'format' = 'parquet');
CREATE TABLE q3_result (l_orderkey BIGINT, revenue DOUBLE, o_orderdate DATE, o_shippriority INT)
  WITH ('connector' = 'blackhole');
INSERT OVERWRITE q3_result
SELECT l_orderkey, SUM(l_extendedprice * (1 - l_discount)) AS revenue, o_orderdate, o_shippriority
FROM customer, orders, lineitem
WHERE c_mktsegment = 'BUILDING' AND c_custkey = o_custkey AND l_orderkey = o_orderkey
  AND o_orderdate < DATE '1995-03-15' AND l_shipdate > DATE '1995-03-15'
GROUP BY l_orderkey, o_orderdate, o_shippriority
ORDER BY revenue DESC, o_orderdate, l_orderkey
LIMIT 10;
