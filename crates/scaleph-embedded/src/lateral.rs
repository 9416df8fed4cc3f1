//! Flink's `CROSS JOIN UNNEST` of another table's column, which DataFusion cannot plan (its
//! `UNNEST` table factor does not see the tables beside it).
//!
//! `FROM t [AS a] CROSS JOIN UNNEST(<array of a>) AS v(k)` (or `FROM t AS a, UNNEST(…) AS v(k)`)
//! becomes `FROM (SELECT a.*, unnest(<array>) AS k FROM t AS a WHERE <array> IS NOT NULL) AS a`
//! and `v.k` becomes `a.k` in the query. Like Flink's inner `UNNEST`, a row whose array is NULL
//! or empty gives no rows. Only that shape is rewritten (one array, a column alias, the table
//! alone on the left); anything else is left for the planner to accept or refuse.

use datafusion::sql::sqlparser::ast::{
    visit_expressions_mut, Expr, Ident, JoinOperator, ObjectNamePart, Query, Select, SetExpr,
    Statement, TableAlias, TableFactor, VisitMut, VisitorMut,
};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::Parser;
use std::ops::ControlFlow;

/// Rewrites every lateral `UNNEST` of `stmt` (see the module docs).
pub(crate) fn rewrite(stmt: &mut Statement) {
    let _ = stmt.visit(&mut Lateral);
}

struct Lateral;

impl VisitorMut for Lateral {
    type Break = ();

    fn pre_visit_query(&mut self, q: &mut Query) -> ControlFlow<()> {
        let mut renames = Vec::new();
        set_expr(&mut q.body, &mut renames);
        if !renames.is_empty() {
            let _ = visit_expressions_mut(q, |e: &mut Expr| {
                if let Expr::CompoundIdentifier(parts) = e {
                    if parts.len() == 2 {
                        for (from, to) in &renames {
                            if parts[0].value == *from {
                                parts[0] = Ident::new(to.clone());
                            }
                        }
                    }
                }
                ControlFlow::<()>::Continue(())
            });
        }
        ControlFlow::Continue(())
    }
}

fn set_expr(body: &mut SetExpr, renames: &mut Vec<(String, String)>) {
    match body {
        SetExpr::Select(s) => select(s, renames),
        SetExpr::SetOperation { left, right, .. } => {
            set_expr(left, renames);
            set_expr(right, renames);
        }
        _ => {}
    }
}

/// The name a table factor is referred to by.
fn factor_name(f: &TableFactor) -> Option<String> {
    match f {
        TableFactor::Table { alias: Some(a), .. } | TableFactor::Derived { alias: Some(a), .. } => {
            Some(a.name.value.clone())
        }
        TableFactor::Table {
            name, alias: None, ..
        } => name.0.last().and_then(|p| match p {
            ObjectNamePart::Identifier(i) => Some(i.value.clone()),
            _ => None,
        }),
        _ => None,
    }
}

/// `(array, unnest alias, column)` of a plain `UNNEST(array) AS v(k)`.
fn plain_unnest(f: &TableFactor) -> Option<(Expr, String, Ident)> {
    match f {
        TableFactor::UNNEST {
            alias: Some(alias),
            array_exprs,
            with_offset: false,
            with_offset_alias: None,
            with_ordinality: false,
        } if array_exprs.len() == 1 && alias.columns.len() == 1 => Some((
            array_exprs[0].clone(),
            alias.name.value.clone(),
            alias.columns[0].name.clone(),
        )),
        _ => None,
    }
}

/// True when `e` refers to `table`'s columns: it names one as `table.x`, or it names columns
/// only unqualified (`x`), which beside a single table can only be that table's.
fn mentions(e: &Expr, table: &str) -> bool {
    let mut e = e.clone();
    let (mut ours, mut bare, mut others) = (false, false, false);
    let _ = visit_expressions_mut(&mut e, |x: &mut Expr| {
        match x {
            Expr::CompoundIdentifier(p) if p.len() == 2 && p[0].value == table => ours = true,
            Expr::CompoundIdentifier(_) => others = true,
            Expr::Identifier(_) => bare = true,
            _ => {}
        }
        ControlFlow::<()>::Continue(())
    });
    ours || (bare && !others)
}

fn select(s: &mut Select, renames: &mut Vec<(String, String)>) {
    let mut i = 0;
    while i < s.from.len() {
        // `t CROSS JOIN UNNEST(…)` as the first join of the chain.
        let explicit = {
            let twj = &s.from[i];
            twj.joins.first().and_then(|j| {
                matches!(j.join_operator, JoinOperator::CrossJoin(_))
                    .then(|| plain_unnest(&j.relation))
                    .flatten()
            })
        };
        if let Some(u) = explicit {
            if let Some(new) = lateral(&s.from[i].relation, u, renames) {
                s.from[i].relation = new;
                s.from[i].joins.remove(0);
            }
        } else if i + 1 < s.from.len()
            && s.from[i].joins.is_empty()
            && s.from[i + 1].joins.is_empty()
        {
            // `t, UNNEST(…)`
            if let Some(u) = plain_unnest(&s.from[i + 1].relation) {
                if let Some(new) = lateral(&s.from[i].relation, u, renames) {
                    s.from[i].relation = new;
                    s.from.remove(i + 1);
                }
            }
        }
        i += 1;
    }
}

/// The derived table replacing `left` and its lateral `UNNEST`, or `None` when the array does
/// not refer to `left`.
fn lateral(
    left: &TableFactor,
    (array, unnest_alias, column): (Expr, String, Ident),
    renames: &mut Vec<(String, String)>,
) -> Option<TableFactor> {
    let name = factor_name(left)?;
    if !mentions(&array, &name) {
        return None;
    }
    // Built as text and parsed: the parser fills a query's many optional parts consistently.
    let text = format!(
        "SELECT {q}.*, unnest({array}) AS {column} FROM {left} WHERE {array} IS NOT NULL",
        q = Ident::with_quote('"', &name)
    );
    let query = Parser::new(&GenericDialect {})
        .try_with_sql(&text)
        .and_then(|mut p| p.parse_query())
        .ok()?;
    renames.push((unnest_alias, name.clone()));
    Some(TableFactor::Derived {
        lateral: false,
        subquery: query,
        alias: Some(TableAlias {
            explicit: true,
            name: Ident::new(name),
            columns: vec![],
            at: None,
        }),
        sample: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(sql: &str) -> Statement {
        Parser::new(&GenericDialect {})
            .try_with_sql(sql)
            .and_then(|mut p| p.parse_statement())
            .unwrap()
    }

    fn rewritten(sql: &str) -> String {
        let mut s = parsed(sql);
        rewrite(&mut s);
        s.to_string()
    }

    #[test]
    fn lateral_unnest_becomes_a_derived_table() {
        let want = "SELECT r.id, r.k FROM (SELECT \"r\".*, unnest(r.arr) AS k FROM t AS r \
                    WHERE r.arr IS NOT NULL) AS r ORDER BY r.k";
        assert_eq!(
            rewritten("SELECT r.id, v.k FROM t AS r CROSS JOIN UNNEST(r.arr) AS v(k) ORDER BY v.k"),
            want
        );
        assert_eq!(
            rewritten("SELECT r.id, v.k FROM t AS r, UNNEST(r.arr) AS v(k) ORDER BY v.k"),
            want
        );
    }

    #[test]
    fn unqualified_arrays_are_the_tables_columns() {
        assert_eq!(
            rewritten("SELECT k, x FROM t CROSS JOIN UNNEST(SPLIT(s, ',')) AS u(x)"),
            "SELECT k, x FROM (SELECT \"t\".*, unnest(SPLIT(s, ',')) AS x FROM t \
             WHERE SPLIT(s, ',') IS NOT NULL) AS t"
        );
    }

    #[test]
    fn other_unnests_are_left_alone() {
        // not referring to the table beside it
        let s = "SELECT * FROM t AS r CROSS JOIN UNNEST(ARRAY[1, 2]) AS v(k)";
        assert_eq!(rewritten(s), parsed(s).to_string());
        // naming another table
        let s = "SELECT * FROM t AS r CROSS JOIN UNNEST(o.arr) AS v(k)";
        assert_eq!(rewritten(s), parsed(s).to_string());
        // WITH ORDINALITY
        let s = "SELECT * FROM t AS r CROSS JOIN UNNEST(r.a) WITH ORDINALITY AS v(k, n)";
        assert_eq!(rewritten(s), parsed(s).to_string());
    }
}
