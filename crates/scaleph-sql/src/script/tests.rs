use super::*;
use crate::{FlinkType, SqlErrorKind};
use arrow_schema::{DataType, TimeUnit};

const SCRIPT: &str = "SET 'parallelism.default' = '2';
-- a comment; with a semicolon
CREATE TEMPORARY TABLE orders (
  id BIGINT,
  `user` STRING NOT NULL,
  amount DECIMAL(10, 2),
  tags ARRAY<STRING>,
  attrs MAP<STRING, ARRAY<INT>>,
  addr ROW<city STRING, zip INT>,
  ts TIMESTAMP(3),
  ltz TIMESTAMP_LTZ(3),
  dt STRING,
  PRIMARY KEY (id) NOT ENFORCED,
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) PARTITIONED BY (dt) WITH (
  'connector' = 'filesystem',
  'path' = '/tmp/o',
  'format' = 'csv'
);
INSERT INTO sink SELECT id, CASE WHEN id > 1 THEN 'a' ELSE 'b' END FROM orders;
EXECUTE STATEMENT SET BEGIN
  INSERT INTO a SELECT * FROM orders;
  INSERT OVERWRITE b PARTITION (dt = '2024') (x, y) SELECT 1, CASE WHEN true THEN 1 END;
END;
SELECT 1";

#[test]
fn parses_a_full_script() {
    let stmts = parse_script(SCRIPT).unwrap();
    assert_eq!(stmts.len(), 5);
    assert_eq!(
        stmts[0].kind,
        StatementKind::Set {
            key: "parallelism.default".into(),
            value: "2".into()
        }
    );
    let StatementKind::CreateTable(t) = &stmts[1].kind else {
        panic!("{:?}", stmts[1])
    };
    assert_eq!(t.name, "orders");
    assert_eq!(t.pos, Pos::new(3, 24));
    assert_eq!(t.columns[1].name, "user");
    assert!(!t.columns[1].nullable);
    assert!(!t.columns[0].nullable, "primary key implies NOT NULL");
    assert_eq!(t.columns[2].data_type, FlinkType::Decimal(10, 2));
    assert_eq!(
        t.columns[4].data_type.to_string(),
        "MAP<STRING, ARRAY<INT>>"
    );
    assert_eq!(
        t.columns[5].data_type.to_string(),
        "ROW<`city` STRING, `zip` INT>"
    );
    assert_eq!(
        t.columns[6].data_type.to_arrow(),
        DataType::Timestamp(TimeUnit::Millisecond, None)
    );
    assert_eq!(
        t.watermark.as_ref().unwrap().expr,
        "ts - INTERVAL '5' SECOND"
    );
    assert_eq!(t.partitioned_by, vec!["dt"]);
    assert_eq!(t.option("path"), Some("/tmp/o"));
    assert_eq!(t.option_pos("format"), Pos::new(18, 3));

    let StatementKind::Insert(ins) = &stmts[2].kind else {
        panic!()
    };
    assert_eq!(ins.target, "sink");
    assert_eq!(ins.query.pos, Pos::new(20, 18));
    assert!(ins.query.sql.starts_with("SELECT id, CASE"));
    assert!(ins.query.sql.ends_with("FROM orders"));

    let StatementKind::StatementSet(set) = &stmts[3].kind else {
        panic!("{:?}", stmts[3])
    };
    assert_eq!(set.len(), 2);
    assert!(set[1].overwrite);
    assert_eq!(set[1].static_partition, vec![("dt".into(), "2024".into())]);
    assert_eq!(set[1].columns, Some(vec!["x".into(), "y".into()]));
    assert!(set[1].query.sql.ends_with("END"));
    assert!(matches!(&stmts[4].kind, StatementKind::Query(q) if q.sql == "SELECT 1"));
}

#[test]
fn padded_query_keeps_positions() {
    let q = QueryText {
        sql: "SELECT x".into(),
        pos: Pos::new(3, 5),
    };
    assert_eq!(q.padded(), "\n\n    SELECT x");
}

fn err(sql: &str) -> SqlError {
    parse_script(sql).unwrap_err()
}

#[test]
fn errors_carry_positions() {
    let e = err("CREATE TABLE t (\n  a INTT\n) WITH ('connector' = 'x');");
    assert_eq!(e.pos, Pos::new(2, 5));
    assert_eq!(e.message, "unknown data type INTT");

    let e = err("CREATE FUNCTION f AS 'x';");
    assert_eq!(e.kind, SqlErrorKind::Unsupported);
    assert_eq!(e.to_string(), "1:1: unsupported: CREATE FUNCTION");

    let e = err("SELECT 1;\nSELECT /*+ OPTIONS('a'='b') */ 2;");
    assert_eq!(e.to_string(), "2:8: unsupported: SQL hint /*+ … */");

    let e = err("CREATE TABLE t (a INT, a STRING) WITH ('connector' = 'x');");
    assert!(e.message.contains("declared twice"), "{e}");

    let e = err("CREATE TABLE t (a INT) WITH ('connector' = 'x', 'connector' = 'y');");
    assert_eq!(e.pos, Pos::new(1, 49));

    let e = err("CREATE TABLE t (a INT, PRIMARY KEY (b) NOT ENFORCED) WITH ('connector' = 'x');");
    assert!(e.message.contains("primary key column `b`"), "{e}");

    let e = err("CREATE TABLE t (a DECIMAL(40, 2)) WITH ('connector' = 'x');");
    assert!(e.message.contains("DECIMAL(40, 2)"), "{e}");

    let e = err("INSERT sink SELECT 1");
    assert_eq!(e.to_string(), "1:8: expected INTO, found 'sink'");

    let e = err("SELECT 'unterminated");
    assert_eq!(e.kind, SqlErrorKind::Syntax);

    let e = err("EXECUTE STATEMENT SET BEGIN INSERT INTO a SELECT 1;");
    assert!(e.message.contains("missing its closing END"), "{e}");

    // The token after a statement set's END is not silently dropped.
    let e = err("EXECUTE STATEMENT SET BEGIN INSERT INTO a SELECT 1; END SELECT 2;");
    assert_eq!(
        e.to_string(),
        "1:57: expected ';' after the statement set's END, found 'SELECT'"
    );

    let e = err("ALTER TABLE t RENAME TO u;");
    assert_eq!(e.to_string(), "1:1: unsupported: ALTER TABLE statement");
}

#[test]
fn legacy_forms() {
    let s = parse_script(
        "SET execution.runtime-mode = batch;\nBEGIN STATEMENT SET;\nINSERT INTO a SELECT 1;\nEND;",
    )
    .unwrap();
    assert_eq!(
        s[0].kind,
        StatementKind::Set {
            key: "execution.runtime-mode".into(),
            value: "batch".into()
        }
    );
    assert!(matches!(&s[1].kind, StatementKind::StatementSet(v) if v.len() == 1));
}

#[test]
fn huge_tables_are_checked_in_linear_time() {
    // 100,000 columns, keys and partition columns, then a column declared again: checked and
    // found (at its position) without comparing every pair of names.
    let n = 100_000;
    let cols: Vec<String> = (0..n).map(|i| format!("c{i} INT")).collect();
    let keys = (0..n)
        .map(|i| format!("c{i}"))
        .collect::<Vec<_>>()
        .join(", ");
    let ok = format!(
        "CREATE TABLE t ({}, PRIMARY KEY ({keys}) NOT ENFORCED) PARTITIONED BY ({keys}) WITH ('connector' = 'x');",
        cols.join(", ")
    );
    let StatementKind::CreateTable(t) = &parse_script(&ok).unwrap()[0].kind else {
        panic!("a table")
    };
    assert_eq!(t.columns.len(), n);
    assert!(t.columns.iter().all(|c| !c.nullable));

    let dup = format!(
        "CREATE TABLE t ({}, c0 STRING) WITH ('connector' = 'x');",
        cols.join(", ")
    );
    let e = err(&dup);
    assert_eq!(e.message, "column `c0` declared twice");
    assert_eq!(
        e.pos,
        Pos::new(1, dup.find("c0 STRING").unwrap() as u32 + 1)
    );
}
