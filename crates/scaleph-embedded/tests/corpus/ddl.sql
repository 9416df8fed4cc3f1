-- Flink DDL for the differential-test corpus. ${DATA} is replaced by the
-- absolute data directory (default /tmp/corpus/data) before execution.
CREATE TABLE region (
  r_regionkey INT,
  r_name STRING,
  r_comment STRING
) WITH ('connector' = 'filesystem', 'path' = '${DATA}/region', 'format' = 'csv');

CREATE TABLE nation (
  n_nationkey INT,
  n_name STRING,
  n_regionkey INT,
  n_comment STRING
) WITH ('connector' = 'filesystem', 'path' = '${DATA}/nation', 'format' = 'csv');

CREATE TABLE supplier (
  s_suppkey INT,
  s_name STRING,
  s_address STRING,
  s_nationkey INT,
  s_phone STRING,
  s_acctbal DECIMAL(15, 2),
  s_comment STRING
) WITH ('connector' = 'filesystem', 'path' = '${DATA}/supplier', 'format' = 'csv');

CREATE TABLE customer (
  c_custkey INT,
  c_name STRING,
  c_address STRING,
  c_nationkey INT,
  c_phone STRING,
  c_acctbal DECIMAL(15, 2),
  c_mktsegment STRING,
  c_comment STRING
) WITH ('connector' = 'filesystem', 'path' = '${DATA}/customer', 'format' = 'csv');

CREATE TABLE part (
  p_partkey INT,
  p_name STRING,
  p_mfgr STRING,
  p_brand STRING,
  p_type STRING,
  p_size INT,
  p_container STRING,
  p_retailprice DECIMAL(15, 2),
  p_comment STRING
) WITH ('connector' = 'filesystem', 'path' = '${DATA}/part', 'format' = 'csv');

CREATE TABLE partsupp (
  ps_partkey INT,
  ps_suppkey INT,
  ps_availqty INT,
  ps_supplycost DECIMAL(15, 2),
  ps_comment STRING
) WITH ('connector' = 'filesystem', 'path' = '${DATA}/partsupp', 'format' = 'csv');

CREATE TABLE orders (
  o_orderkey BIGINT,
  o_custkey INT,
  o_orderstatus STRING,
  o_totalprice DECIMAL(15, 2),
  o_orderdate DATE,
  o_orderpriority STRING,
  o_clerk STRING,
  o_shippriority INT,
  o_comment STRING
) WITH ('connector' = 'filesystem', 'path' = '${DATA}/orders', 'format' = 'csv');

CREATE TABLE lineitem (
  l_orderkey BIGINT,
  l_partkey INT,
  l_suppkey INT,
  l_linenumber INT,
  l_quantity DECIMAL(15, 2),
  l_extendedprice DECIMAL(15, 2),
  l_discount DECIMAL(15, 2),
  l_tax DECIMAL(15, 2),
  l_returnflag STRING,
  l_linestatus STRING,
  l_shipdate DATE,
  l_commitdate DATE,
  l_receiptdate DATE,
  l_shipinstruct STRING,
  l_shipmode STRING,
  l_comment STRING
) WITH ('connector' = 'filesystem', 'path' = '${DATA}/lineitem', 'format' = 'csv');

CREATE TABLE nulls (
  id INT,
  s STRING,
  d DOUBLE,
  n DECIMAL(10, 2),
  dt DATE,
  b BOOLEAN
) WITH ('connector' = 'filesystem', 'path' = '${DATA}/nulls', 'format' = 'csv', 'csv.null-literal' = 'NULL');
