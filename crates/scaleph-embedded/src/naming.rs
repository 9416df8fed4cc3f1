//! Flink's names for select items without an alias, so that result columns are named as on
//! Flink and a query may select the same expression twice (DataFusion refuses duplicate names).
//!
//! Flink (Calcite) names an unaliased expression `EXPR$<i>`, `i` its 0-based position in the
//! select list, and keeps a column reference's name, suffixing repeats `a0`, `a1`, … (Calcite's
//! `SqlValidatorUtil.uniquify`). Known difference: after a `*` the positions count the items as
//! written, not the expanded columns.

use datafusion::sql::sqlparser::ast::{Expr, Ident, Select, SelectItem};
use datafusion::sql::sqlparser::ast::{LimitClause, Query, Statement, VisitMut, VisitorMut};
use std::collections::HashSet;
use std::ops::ControlFlow;

struct Namer;

impl VisitorMut for Namer {
    type Break = ();

    /// `FETCH FIRST n ROWS ONLY` is `LIMIT n` (DataFusion plans only the latter).
    fn pre_visit_query(&mut self, q: &mut Query) -> ControlFlow<()> {
        let plain = q
            .fetch
            .as_ref()
            .is_some_and(|f| !f.with_ties && !f.percent && f.quantity.is_some());
        let no_limit = match &q.limit_clause {
            None => true,
            Some(LimitClause::LimitOffset { limit, .. }) => limit.is_none(),
            Some(_) => false,
        };
        if plain && no_limit {
            let n = q.fetch.take().and_then(|f| f.quantity);
            let offset = match q.limit_clause.take() {
                Some(LimitClause::LimitOffset { offset, .. }) => offset,
                _ => None,
            };
            q.limit_clause = Some(LimitClause::LimitOffset {
                limit: n,
                offset,
                limit_by: vec![],
            });
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_select(&mut self, select: &mut Select) -> ControlFlow<()> {
        name_items(&mut select.projection);
        ControlFlow::Continue(())
    }
}

/// Gives every unaliased select item of `stmt` (all nesting levels) Flink's name, and turns
/// `FETCH FIRST n ROWS ONLY` into `LIMIT n`.
pub(crate) fn name_select_items(stmt: &mut Statement) {
    let _ = stmt.visit(&mut Namer);
}

fn name_items(items: &mut [SelectItem]) {
    let mut taken: HashSet<String> = items
        .iter()
        .filter_map(|i| match i {
            SelectItem::ExprWithAlias { alias, .. } => Some(alias.value.clone()),
            _ => None,
        })
        .collect();
    for (i, item) in items.iter_mut().enumerate() {
        let SelectItem::UnnamedExpr(e) = item else {
            continue;
        };
        // `t.c` and a ROW field `r.f` are named by their last part, as in Flink (DataFusion
        // names a field access `r[f]`), so `t.c` gets the alias too.
        let (column, compound) = match e {
            Expr::Identifier(id) => (Some(id.value.clone()), false),
            Expr::CompoundIdentifier(parts) => (parts.last().map(|p| p.value.clone()), true),
            _ => (None, false),
        };
        let name = match column {
            Some(c) if !taken.contains(&c) => {
                taken.insert(c.clone());
                if !compound {
                    continue;
                }
                c
            }
            Some(c) => (0..)
                .map(|k| format!("{c}{k}"))
                .find(|n| !taken.contains(n))
                .expect("an unused suffix"),
            None => format!("EXPR${i}"),
        };
        taken.insert(name.clone());
        *item = SelectItem::ExprWithAlias {
            expr: e.clone(),
            alias: Ident::with_quote('`', name),
        };
    }
}
