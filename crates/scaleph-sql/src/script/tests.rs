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

    let e = err("CREATE FUNCTION f AS x;");
    assert_eq!(e.kind, SqlErrorKind::Syntax);
    assert_eq!(e.pos, Pos::new(1, 22));

    let e = err("FROB TABLE t;");
    assert_eq!(e.to_string(), "1:1: expected a statement, found 'FROB'");

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

    let e = err("CREATE TABLE t (a INT, b AS , c INT) WITH ('connector' = 'x');");
    assert_eq!(e.pos, Pos::new(1, 29));
}

/// Flink statements beyond DDL/DML parse into their own kinds, keeping positions.
#[test]
fn parses_all_of_flink_statements() {
    let script = "CREATE TEMPORARY SYSTEM FUNCTION IF NOT EXISTS f AS 'com.x.F' LANGUAGE JAVA USING JAR '/j/a.jar';
CREATE CATALOG paimon WITH ('type' = 'paimon', 'warehouse' = 'file:///w');
CREATE DATABASE IF NOT EXISTS paimon.db COMMENT 'x' WITH ('k' = 'v');
USE CATALOG paimon;
USE paimon.db;
USE MODULES core;
ADD JAR '/j/b.jar';
SHOW TABLES;
SHOW CREATE TABLE t;
DESCRIBE t;
ALTER TABLE t RENAME TO u;
DROP TEMPORARY VIEW IF EXISTS v;
EXPLAIN CHANGELOG_MODE, ESTIMATED_COST SELECT 1;
EXPLAIN PLAN FOR INSERT INTO s SELECT 1;
CREATE TABLE c.d.t (
  id BIGINT,
  ts AS TO_TIMESTAMP_LTZ(id, 3) COMMENT 'event time',
  part STRING METADATA FROM 'partition' VIRTUAL,
  off BIGINT METADATA VIRTUAL,
  WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
) DISTRIBUTED BY HASH(id) INTO 4 BUCKETS WITH ('connector' = 'kafka');
CREATE TABLE l WITH ('connector' = 'print') LIKE t (EXCLUDING OPTIONS);
CREATE OR REPLACE TABLE ctas WITH ('connector' = 'blackhole') AS SELECT * FROM t;
SELECT /*+ OPTIONS('scan.startup.mode' = 'earliest-offset') */ * FROM t /*+ BROADCAST(t) */;
INSERT INTO c.d.t SELECT 1;";
    let s = parse_script(script).unwrap();
    let StatementKind::CreateFunction(f) = &s[0].kind else {
        panic!("{:?}", s[0])
    };
    assert_eq!(
        (
            f.name.clone(),
            f.class.as_str(),
            f.language.as_str(),
            f.system,
            f.jars.clone()
        ),
        (
            vec!["f".to_string()],
            "com.x.F",
            "JAVA",
            true,
            vec!["/j/a.jar".to_string()]
        )
    );
    assert!(
        matches!(&s[1].kind, StatementKind::CreateCatalog { name, options } if name == "paimon" && options[1].value == "file:///w")
    );
    assert!(
        matches!(&s[2].kind, StatementKind::CreateDatabase { name, .. } if name.join(".") == "paimon.db")
    );
    assert_eq!(
        s[3].kind,
        StatementKind::Use(UseTarget::Catalog("paimon".into()))
    );
    assert_eq!(
        s[4].kind,
        StatementKind::Use(UseTarget::Database(vec!["paimon".into(), "db".into()]))
    );
    assert_eq!(
        s[5].kind,
        StatementKind::Use(UseTarget::Modules(vec!["core".into()]))
    );
    assert_eq!(
        s[6].kind,
        StatementKind::AddJar {
            path: "/j/b.jar".into()
        }
    );
    let verbs: Vec<String> = s[7..12]
        .iter()
        .map(|st| match &st.kind {
            StatementKind::Other { verb, .. } => verb.clone(),
            k => panic!("{k:?}"),
        })
        .collect();
    assert_eq!(
        verbs,
        [
            "SHOW TABLES",
            "SHOW CREATE TABLE",
            "DESCRIBE",
            "ALTER TABLE",
            "DROP TEMPORARY VIEW"
        ]
    );
    let StatementKind::Explain { details, statement } = &s[12].kind else {
        panic!()
    };
    assert_eq!(details, &["CHANGELOG_MODE", "ESTIMATED_COST"]);
    assert!(matches!(statement.kind, StatementKind::Query(_)));
    assert_eq!(statement.pos, Pos::new(13, 40));
    let StatementKind::Explain { statement, .. } = &s[13].kind else {
        panic!()
    };
    assert!(matches!(statement.kind, StatementKind::Insert(_)));
    let StatementKind::CreateTable(t) = &s[14].kind else {
        panic!()
    };
    assert_eq!(t.qualifier, ["c", "d"]);
    assert_eq!(t.columns.len(), 3);
    assert_eq!(t.computed.len(), 1);
    assert_eq!(t.computed[0].expr.sql, "TO_TIMESTAMP_LTZ(id, 3)");
    assert_eq!(t.computed[0].expr.pos, Pos::new(17, 9));
    assert_eq!(t.computed[0].after, 1);
    let m = t.columns[1].metadata.as_ref().unwrap();
    assert_eq!((m.key.as_deref(), m.is_virtual), (Some("partition"), true));
    assert_eq!(t.columns[2].metadata.as_ref().unwrap().key, None);
    assert_eq!(t.watermark.as_ref().unwrap().column, "ts");
    let names: Vec<&str> = t.declared_order().iter().map(|(n, _)| *n).collect();
    assert_eq!(names, ["id", "ts", "part", "off"]);
    let d = t.distribution.as_ref().unwrap();
    assert_eq!((d.algorithm.as_str(), d.buckets), ("HASH", Some(4)));
    let StatementKind::CreateTable(l) = &s[15].kind else {
        panic!()
    };
    let like = l.like.as_ref().unwrap();
    assert_eq!(
        (like.source.join("."), like.options.as_str()),
        ("t".into(), "EXCLUDING OPTIONS")
    );
    let StatementKind::CreateTable(c) = &s[16].kind else {
        panic!()
    };
    assert!(c.or_replace);
    assert_eq!(c.as_query.as_ref().unwrap().sql, "SELECT * FROM t");
    assert_eq!(s[17].hints.len(), 2);
    assert_eq!(
        s[17].hints[0].options().unwrap(),
        [(
            "scan.startup.mode".to_string(),
            "earliest-offset".to_string()
        )]
    );
    assert_eq!(s[17].hints[1].name(), "BROADCAST");
    assert_eq!(s[17].hints[1].options(), None);
    let StatementKind::Insert(i) = &s[18].kind else {
        panic!()
    };
    assert_eq!(
        (i.target_qualifier.clone(), i.target.as_str()),
        (vec!["c".to_string(), "d".to_string()], "t")
    );
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

/// `/*! … */` is a comment (Flink), not MySQL's conditional code: nothing inside it splits or
/// starts a statement, and positions stay exact (fuzz finding).
#[test]
fn conditional_comments_are_comments() {
    let s = parse_script("SELECT 1 /*!555\tin;;(1 */;\nSELECT 2").unwrap();
    assert_eq!(s.len(), 2);
    assert_eq!(s[1].pos, Pos::new(2, 1));
}
