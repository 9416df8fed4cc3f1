//! What the embedded engine runs of what the front end parses: everything else is refused at
//! validation as `unsupported: <what> — run it on a Flink cluster`, never run differently.

use scaleph_sql::{Pos, SqlError, Statement, StatementKind, TableDef, UseTarget};

const ON_FLINK: &str = " — run it on a Flink cluster";

/// The refusal for constructs that Flink runs and this engine does not.
pub(crate) fn refuse(pos: Pos, what: impl std::fmt::Display) -> SqlError {
    SqlError::unsupported(pos, format!("{what}{ON_FLINK}"))
}

/// Every `unsupported` refusal that leaves the engine (connectors' included) says where the
/// script runs.
pub(crate) fn point_to_flink(e: scaleph_engine::EngineError) -> scaleph_engine::EngineError {
    match e {
        scaleph_engine::EngineError::Sql(mut s)
            if s.kind == scaleph_sql::SqlErrorKind::Unsupported
                && !s.message.ends_with(ON_FLINK) =>
        {
            s.message.push_str(ON_FLINK);
            scaleph_engine::EngineError::Sql(s)
        }
        other => other,
    }
}

/// Join strategy hints: they choose how a join runs, not what it returns, so the embedded
/// engine may ignore them (with a note).
const STRATEGY_HINTS: [&str; 5] = [
    "BROADCAST",
    "SHUFFLE_HASH",
    "SHUFFLE_MERGE",
    "NEST_LOOP",
    "JOIN_TO_MAP",
];

/// Checks one statement; returns notes for what is accepted but ignored.
///
/// # Errors
/// `unsupported: …` at the construct.
pub(crate) fn check(st: &Statement) -> Result<Vec<String>, SqlError> {
    let mut notes = Vec::new();
    for h in &st.hints {
        let name = h.name();
        if STRATEGY_HINTS.contains(&name.as_str()) {
            notes.push(format!(
                "{}:{}: join hint {name} ignored by the embedded engine (it plans joins itself)",
                h.pos.line, h.pos.column
            ));
        } else {
            return Err(refuse(h.pos, format!("hint /*+ {name}(…) */")));
        }
    }
    match &st.kind {
        StatementKind::CreateTable(t) => table(t)?,
        StatementKind::CreateView(v) if !v.qualifier.is_empty() => {
            return Err(refuse(v.pos, qualified(&v.qualifier, &v.name)))
        }
        StatementKind::Insert(i) if !i.target_qualifier.is_empty() => {
            return Err(refuse(
                i.target_pos,
                qualified(&i.target_qualifier, &i.target),
            ))
        }
        StatementKind::StatementSet(set) => {
            if let Some(i) = set.iter().find(|i| !i.target_qualifier.is_empty()) {
                return Err(refuse(
                    i.target_pos,
                    qualified(&i.target_qualifier, &i.target),
                ));
            }
        }
        StatementKind::CreateFunction(f) => {
            return Err(refuse(
                st.pos,
                format!(
                    "CREATE FUNCTION {} ({} user-defined functions)",
                    f.name.join("."),
                    f.language
                ),
            ))
        }
        StatementKind::CreateCatalog { .. } => return Err(refuse(st.pos, "CREATE CATALOG")),
        StatementKind::CreateDatabase { .. } => return Err(refuse(st.pos, "CREATE DATABASE")),
        StatementKind::Use(target) => {
            let default = match target {
                UseTarget::Catalog(c) => c == "default_catalog",
                UseTarget::Database(d) => {
                    matches!(d.as_slice(), [db] if db == "default_database")
                        || matches!(d.as_slice(), [c, db] if c == "default_catalog" && db == "default_database")
                }
                UseTarget::Modules(m) => m.iter().all(|m| m.eq_ignore_ascii_case("core")),
            };
            if !default {
                return Err(refuse(st.pos, "USE of another catalog, database or module"));
            }
        }
        StatementKind::AddJar { .. } => return Err(refuse(st.pos, "ADD JAR")),
        StatementKind::Explain { .. } => return Err(refuse(st.pos, "EXPLAIN")),
        StatementKind::Other { verb, .. } => return Err(refuse(st.pos, verb)),
        _ => {}
    }
    Ok(notes)
}

fn qualified(q: &[String], name: &str) -> String {
    format!(
        "table `{}.{name}` outside default_catalog.default_database",
        q.join(".")
    )
}

fn table(t: &TableDef) -> Result<(), SqlError> {
    if !t.qualifier.is_empty() {
        return Err(refuse(t.pos, qualified(&t.qualifier, &t.name)));
    }
    if let Some(l) = &t.like {
        return Err(refuse(l.pos, "CREATE TABLE … LIKE"));
    }
    if let Some(q) = &t.as_query {
        return Err(refuse(q.pos, "CREATE TABLE … AS SELECT"));
    }
    if t.or_replace {
        return Err(refuse(t.pos, "CREATE OR REPLACE TABLE"));
    }
    if t.distribution.is_some() {
        return Err(refuse(t.pos, "DISTRIBUTED BY"));
    }
    if let Some(m) = t.columns.iter().find_map(|c| c.metadata.as_ref()) {
        return Err(refuse(m.pos, "METADATA column"));
    }
    Ok(())
}

/// A fixed SQL expression of the rewrites below, parsed.
fn sql_expr(text: &str) -> Option<datafusion::sql::sqlparser::ast::Expr> {
    use datafusion::sql::sqlparser::dialect::GenericDialect;
    use datafusion::sql::sqlparser::parser::Parser;
    Parser::new(&GenericDialect {})
        .try_with_sql(text)
        .and_then(|mut p| p.parse_expr())
        .ok()
}

/// `[NOT] EXISTS (SELECT … FROM … WHERE …)` in a select list (which DataFusion plans but cannot
/// execute) as `(SELECT COUNT(*) FROM … WHERE …) > 0` (`= 0`), a scalar subquery DataFusion
/// decorrelates. Only plain subqueries are rewritten: no `WITH`, `DISTINCT`, `GROUP BY`,
/// `HAVING`, `ORDER BY`, `LIMIT`, set operation, and a select list of literals, columns and `*`
/// (an aggregate there makes one row however many match); [`check_query`] refuses the others.
pub(crate) fn rewrite_select_list_exists(stmt: &mut datafusion::sql::sqlparser::ast::Statement) {
    use datafusion::sql::sqlparser::ast::{
        BinaryOperator, Expr, GroupByExpr, SelectItem, SetExpr, Value, VisitMut, VisitorMut,
    };
    use std::ops::ControlFlow;
    fn plain(e: &Expr) -> bool {
        matches!(
            e,
            Expr::Value(_) | Expr::Identifier(_) | Expr::CompoundIdentifier(_)
        )
    }
    fn rewrite(e: &mut Expr) {
        let Expr::Exists { subquery, negated } = e else {
            return;
        };
        let q = subquery.as_mut();
        let SetExpr::Select(sel) = q.body.as_mut() else {
            return;
        };
        let simple = q.with.is_none()
            && q.order_by.is_none()
            && q.limit_clause.is_none()
            && q.fetch.is_none()
            && sel.distinct.is_none()
            && sel.top.is_none()
            && sel.having.is_none()
            && sel.qualify.is_none()
            && sel.named_window.is_empty()
            && matches!(&sel.group_by, GroupByExpr::Expressions(g, m) if g.is_empty() && m.is_empty())
            && sel.projection.iter().all(|i| match i {
                SelectItem::UnnamedExpr(x) | SelectItem::ExprWithAlias { expr: x, .. } => plain(x),
                SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..) => true,
                _ => false,
            });
        let (true, Some(count)) = (simple, sql_expr("COUNT(*)")) else {
            return;
        };
        sel.projection = vec![SelectItem::UnnamedExpr(count)];
        let op = if *negated {
            BinaryOperator::Eq
        } else {
            BinaryOperator::Gt
        };
        *e = Expr::Nested(Box::new(Expr::BinaryOp {
            left: Box::new(Expr::Subquery(subquery.clone())),
            op,
            right: Box::new(Expr::value(Value::Number("0".into(), false))),
        }));
    }
    struct Lists;
    impl VisitorMut for Lists {
        type Break = ();
        fn post_visit_select(
            &mut self,
            s: &mut datafusion::sql::sqlparser::ast::Select,
        ) -> ControlFlow<()> {
            for item in &mut s.projection {
                let _ = datafusion::sql::sqlparser::ast::visit_expressions_mut(item, |e| {
                    rewrite(e);
                    ControlFlow::<()>::Continue(())
                });
            }
            ControlFlow::Continue(())
        }
    }
    let _ = stmt.visit(&mut Lists);
}

/// `GROUP_ID()` (Calcite's: the ordinal of a grouping set among equal earlier ones) as the
/// `BIGINT` 0 in a `SELECT` whose grouping sets (`GROUP BY` items, `GROUPING SETS`, `ROLLUP`,
/// `CUBE`, crossed) are all different, as Flink returns there.
///
/// # Errors
/// `unsupported` at the call when sets repeat or the `SELECT` has no `GROUP BY`.
pub(crate) fn group_ids(
    stmt: &mut datafusion::sql::sqlparser::ast::Statement,
    fallback: Pos,
) -> Result<(), SqlError> {
    use datafusion::sql::sqlparser::ast::{
        visit_expressions_mut, Expr, GroupByExpr, Select, Spanned, VisitMut, VisitorMut,
    };
    use std::collections::BTreeSet;
    use std::ops::ControlFlow;
    type Sets = Vec<BTreeSet<String>>;
    fn cross(a: Sets, b: Sets) -> Sets {
        a.iter()
            .flat_map(|x| b.iter().map(move |y| x.union(y).cloned().collect()))
            .collect()
    }
    fn names(es: &[Expr]) -> BTreeSet<String> {
        es.iter().map(|e| e.to_string().to_lowercase()).collect()
    }
    /// The grouping sets of a `GROUP BY`, `None` when they cannot be listed (`GROUP BY ALL`,
    /// more than 4096 sets).
    fn sets(g: &GroupByExpr) -> Option<Sets> {
        let GroupByExpr::Expressions(items, mods) = g else {
            return None;
        };
        if items.is_empty() || !mods.is_empty() {
            return None;
        }
        let mut acc: Sets = vec![BTreeSet::new()];
        for item in items {
            let these: Sets = match item {
                Expr::GroupingSets(s) => s.iter().map(|x| names(x)).collect(),
                Expr::Rollup(groups) => (0..=groups.len())
                    .rev()
                    .map(|n| groups[..n].iter().flat_map(|x| names(x)).collect())
                    .collect(),
                Expr::Cube(groups) if groups.len() <= 12 => (0..1u32 << groups.len())
                    .map(|m| {
                        groups
                            .iter()
                            .enumerate()
                            .filter(|(i, _)| m & (1 << i) != 0)
                            .flat_map(|(_, x)| names(x))
                            .collect()
                    })
                    .collect(),
                Expr::Cube(_) => return None,
                e => vec![names(std::slice::from_ref(e))],
            };
            acc = cross(acc, these);
            if acc.len() > 4096 {
                return None;
            }
        }
        Some(acc)
    }
    fn is_group_id(e: &Expr) -> bool {
        matches!(e, Expr::Function(f)
            if f.name.0.len() == 1
                && f.name.to_string().eq_ignore_ascii_case("GROUP_ID"))
    }
    struct V(Pos, Option<Pos>);
    impl VisitorMut for V {
        type Break = ();
        fn post_visit_select(&mut self, s: &mut Select) -> ControlFlow<()> {
            let unique = sets(&s.group_by).is_some_and(|v| {
                let distinct: BTreeSet<&BTreeSet<String>> = v.iter().collect();
                distinct.len() == v.len()
            });
            let fallback = self.0;
            let mut refused = None;
            let mut fix = |e: &mut Expr| {
                if is_group_id(e) {
                    if let (true, Some(zero)) = (unique, sql_expr("CAST(0 AS BIGINT)")) {
                        *e = zero;
                    } else if refused.is_none() {
                        let l = e.span().start;
                        refused = Some(if l.line > 0 {
                            Pos::new(l.line as u32, l.column as u32)
                        } else {
                            fallback
                        });
                    }
                }
                ControlFlow::<()>::Continue(())
            };
            for item in &mut s.projection {
                let _ = visit_expressions_mut(item, &mut fix);
            }
            if let Some(h) = &mut s.having {
                let _ = visit_expressions_mut(h, &mut fix);
            }
            if let Some(p) = refused {
                self.1 = Some(p);
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        }
    }
    let mut v = V(fallback, None);
    let _ = stmt.visit(&mut v);
    match v.1 {
        Some(p) => Err(refuse(
            p,
            "GROUP_ID() without GROUP BY or over repeated grouping sets",
        )),
        None => Ok(()),
    }
}

/// Query shapes DataFusion plans but cannot execute (they failed with "not implemented" at run
/// time): `EXISTS`/`IN` subqueries inside a select list, and a row-valued `IN (SELECT …)`.
///
/// # Errors
/// `unsupported: …` at the construct (`fallback` when it has no position).
pub(crate) fn check_query(
    stmt: &datafusion::sql::sqlparser::ast::Statement,
    fallback: Pos,
) -> Result<(), SqlError> {
    use datafusion::sql::sqlparser::ast::{
        visit_expressions, Expr, Select, Spanned, Visit, Visitor,
    };
    use std::ops::ControlFlow;
    let at = |e: &Expr| {
        let s = e.span().start;
        if s.line > 0 {
            Pos::new(s.line as u32, s.column as u32)
        } else {
            fallback
        }
    };
    // Anywhere: `(a, b) IN (SELECT …)`.
    if let ControlFlow::Break(p) = visit_expressions(stmt, |e| match e {
        Expr::InSubquery { expr, .. } if matches!(**expr, Expr::Tuple(_)) => {
            ControlFlow::Break(at(e))
        }
        _ => ControlFlow::Continue(()),
    }) {
        return Err(refuse(p, "a row-valued IN (SELECT …)"));
    }
    struct Projections(Pos, Option<(Pos, &'static str)>);
    impl Visitor for Projections {
        type Break = ();
        fn pre_visit_select(&mut self, s: &Select) -> ControlFlow<()> {
            let fallback = self.0;
            for item in &s.projection {
                let found = visit_expressions(item, |e| match e {
                    Expr::Exists { .. } => ControlFlow::Break((e.span().start, "EXISTS")),
                    Expr::InSubquery { .. } => {
                        ControlFlow::Break((e.span().start, "IN (SELECT …)"))
                    }
                    _ => ControlFlow::Continue(()),
                });
                if let ControlFlow::Break((loc, what)) = found {
                    let p = if loc.line > 0 {
                        Pos::new(loc.line as u32, loc.column as u32)
                    } else {
                        fallback
                    };
                    self.1 = Some((p, what));
                    return ControlFlow::Break(());
                }
            }
            ControlFlow::Continue(())
        }
    }
    let mut v = Projections(fallback, None);
    let _ = stmt.visit(&mut v);
    match v.1 {
        Some((p, what)) => Err(refuse(p, format!("{what} subquery in a select list"))),
        None => Ok(()),
    }
}
