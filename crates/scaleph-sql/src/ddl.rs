//! `CREATE TABLE` in Flink's grammar.

use crate::cursor::Cursor;
use crate::error::{Pos, SqlError};
use crate::script::QueryText;
use crate::types::FlinkType;
use arrow_schema::{Field, Schema};
use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::Token;
use std::collections::{HashMap, HashSet};

/// A physical column of a table: `name TYPE [NOT NULL] [COMMENT '…']`.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnDef {
    /// Column name, case preserved (Flink identifiers are case-sensitive).
    pub name: String,
    /// Declared type.
    pub data_type: FlinkType,
    /// False when declared `NOT NULL` or part of the primary key.
    pub nullable: bool,
    /// Position of the name in the script.
    pub pos: Pos,
    /// `METADATA [FROM 'key'] [VIRTUAL]`: the value comes from the connector's metadata, not
    /// from the data.
    pub metadata: Option<MetadataColumn>,
}

/// `METADATA [FROM 'key'] [VIRTUAL]` of a column.
#[derive(Debug, Clone, PartialEq)]
pub struct MetadataColumn {
    /// The metadata key; `None` = the column name.
    pub key: Option<String>,
    /// `VIRTUAL`: read-only, not written by sinks.
    pub is_virtual: bool,
    /// Position of `METADATA`.
    pub pos: Pos,
}

/// A computed column, `name AS expr [COMMENT '…']`; Flink derives its type from the
/// expression, and sinks do not write it.
#[derive(Debug, Clone, PartialEq)]
pub struct ComputedColumn {
    /// Column name.
    pub name: String,
    /// The expression, verbatim, with its position.
    pub expr: QueryText,
    /// Position of the name.
    pub pos: Pos,
    /// How many typed columns ([`TableDef::columns`]) precede it: the declared order is
    /// restored by inserting it there.
    pub after: usize,
}

/// `LIKE source [(like options)]` of a `CREATE TABLE`.
#[derive(Debug, Clone, PartialEq)]
pub struct LikeClause {
    /// The source table's name parts.
    pub source: Vec<String>,
    /// The like options (`INCLUDING ALL`, `EXCLUDING OPTIONS`, …), verbatim; empty if none.
    pub options: String,
    /// Position of `LIKE`.
    pub pos: Pos,
}

/// `DISTRIBUTED BY [HASH | RANGE] (cols) [INTO n BUCKETS]` / `DISTRIBUTED INTO n BUCKETS`.
#[derive(Debug, Clone, PartialEq)]
pub struct Distribution {
    /// `HASH`, `RANGE` or empty (the connector's default).
    pub algorithm: String,
    /// Bucket key columns; empty for `DISTRIBUTED INTO n BUCKETS`.
    pub columns: Vec<String>,
    /// Number of buckets, if given.
    pub buckets: Option<u64>,
}

/// `WATERMARK FOR rowtime AS expr`; kept for streaming engines, not evaluated in batch mode.
#[derive(Debug, Clone, PartialEq)]
pub struct Watermark {
    /// The rowtime column.
    pub column: String,
    /// The watermark strategy expression, verbatim.
    pub expr: String,
    /// Position of `WATERMARK`.
    pub pos: Pos,
}

/// A connector option from `WITH ('key' = 'value', …)`.
#[derive(Debug, Clone, PartialEq)]
pub struct TableOption {
    /// Option key, e.g. `connector`, `path`, `csv.field-delimiter`.
    pub key: String,
    /// Option value, unescaped.
    pub value: String,
    /// Position of the key literal.
    pub pos: Pos,
}

/// A parsed `CREATE [OR REPLACE] [TEMPORARY] TABLE`, with or without `AS query`.
#[derive(Debug, Clone, PartialEq)]
pub struct TableDef {
    /// Table name (last part of the object name).
    pub name: String,
    /// Catalog and database written before the name, when not Flink's defaults
    /// (`default_catalog.default_database`); empty otherwise.
    pub qualifier: Vec<String>,
    /// Position of the name.
    pub pos: Pos,
    /// `IF NOT EXISTS` given.
    pub if_not_exists: bool,
    /// Physical columns in declaration order.
    pub columns: Vec<ColumnDef>,
    /// `PRIMARY KEY (…) NOT ENFORCED` columns, empty when none.
    pub primary_key: Vec<String>,
    /// The watermark declaration, if any.
    pub watermark: Option<Watermark>,
    /// `PARTITIONED BY (…)` columns in order.
    pub partitioned_by: Vec<String>,
    /// Connector options in the order written.
    pub options: Vec<TableOption>,
    /// Computed columns, each with its place among [`TableDef::columns`].
    pub computed: Vec<ComputedColumn>,
    /// `LIKE` clause, if any.
    pub like: Option<LikeClause>,
    /// `DISTRIBUTED BY …`, if any.
    pub distribution: Option<Distribution>,
    /// `AS query` of `CREATE TABLE … AS SELECT` (CTAS / RTAS).
    pub as_query: Option<QueryText>,
    /// `CREATE OR REPLACE TABLE`.
    pub or_replace: bool,
    /// `COMMENT '…'` of the table.
    pub comment: Option<String>,
}

impl TableDef {
    /// The value of option `key`, if set.
    pub fn option(&self, key: &str) -> Option<&str> {
        self.options
            .iter()
            .find(|o| o.key == key)
            .map(|o| o.value.as_str())
    }

    /// Position of option `key`, or of the table name when absent.
    pub fn option_pos(&self, key: &str) -> Pos {
        self.options
            .iter()
            .find(|o| o.key == key)
            .map(|o| o.pos)
            .unwrap_or(self.pos)
    }

    /// The Arrow schema of the declared columns, in order.
    pub fn arrow_schema(&self) -> Schema {
        Schema::new(
            self.columns
                .iter()
                .map(|c| Field::new(&c.name, c.data_type.to_arrow(), c.nullable))
                .collect::<Vec<_>>(),
        )
    }

    /// Index of column `name`.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// Parses after `CREATE [OR REPLACE] [TEMPORARY] TABLE`.
    pub(crate) fn parse(c: &mut Cursor<'_>, or_replace: bool) -> Result<TableDef, SqlError> {
        let if_not_exists = if c.eat_kw(Keyword::IF) {
            c.expect_kw(Keyword::NOT)?;
            c.expect_kw(Keyword::EXISTS)?;
            true
        } else {
            false
        };
        let pos = c.pos();
        let (qualifier, name) = crate::script::table_name(c)?;
        let mut def = TableDef {
            name,
            qualifier,
            pos,
            if_not_exists,
            columns: Vec::new(),
            primary_key: Vec::new(),
            watermark: None,
            partitioned_by: Vec::new(),
            options: Vec::new(),
            computed: Vec::new(),
            like: None,
            distribution: None,
            as_query: None,
            or_replace,
            comment: None,
        };
        if c.peek() == Some(&Token::LParen) {
            c.next();
            // Names seen so far, so that duplicates are found in linear time even in huge tables.
            let mut columns = HashSet::new();
            loop {
                def.parse_element(c, &mut columns)?;
                if !c.eat(&Token::Comma) {
                    break;
                }
            }
            c.expect(&Token::RParen)?;
        }
        if c.eat_kw(Keyword::COMMENT) {
            def.comment = Some(c.string("a comment string")?);
        }
        if c.eat_word("DISTRIBUTED") {
            def.distribution = Some(parse_distribution(c)?);
        }
        if c.eat_kw(Keyword::PARTITIONED) {
            c.expect_kw(Keyword::BY)?;
            def.partitioned_by = ident_list(c)?;
        }
        if c.eat_kw(Keyword::WITH) {
            def.options = parse_options(c)?;
        }
        if c.peek_kw(Keyword::LIKE) {
            let lpos = c.pos();
            c.next();
            let source = c.object_name("the source table")?;
            let options = if c.eat(&Token::LParen) {
                let (a, b) = c.skip_expr();
                c.expect(&Token::RParen)?;
                c.text(a, b)
            } else {
                String::new()
            };
            def.like = Some(LikeClause {
                source,
                options,
                pos: lpos,
            });
        }
        if c.eat_kw(Keyword::AS) {
            if c.is_done() {
                return Err(c.unexpected("a query"));
            }
            let start = c.index();
            def.as_query = Some(QueryText {
                sql: c.text(start, usize::MAX),
                pos: c.pos_at(start),
            });
            while c.next().is_some() {}
        }
        if !c.is_done() {
            return Err(c.unexpected("end of CREATE TABLE"));
        }
        def.check()?;
        Ok(def)
    }

    /// All columns in declared order as (name, kind): typed columns and computed ones.
    pub fn declared_order(&self) -> Vec<(&str, Pos)> {
        let mut out = Vec::with_capacity(self.columns.len() + self.computed.len());
        let mut comp = self.computed.iter().peekable();
        for (i, col) in self.columns.iter().enumerate() {
            while let Some(cc) = comp.next_if(|cc| cc.after == i) {
                out.push((cc.name.as_str(), cc.pos));
            }
            out.push((col.name.as_str(), col.pos));
        }
        for cc in comp {
            out.push((cc.name.as_str(), cc.pos));
        }
        out
    }

    /// Parses one column, primary key or watermark; `columns` holds the column names so far.
    fn parse_element(
        &mut self,
        c: &mut Cursor<'_>,
        columns: &mut HashSet<String>,
    ) -> Result<(), SqlError> {
        let pos = c.pos();
        if c.eat_kw(Keyword::CONSTRAINT) {
            c.ident("a constraint name")?;
            if !c.peek_kw(Keyword::PRIMARY) {
                return Err(c.unexpected("PRIMARY KEY"));
            }
        }
        if c.eat_kw(Keyword::PRIMARY) {
            c.expect_kw(Keyword::KEY)?;
            if !self.primary_key.is_empty() {
                return Err(SqlError::invalid(pos, "more than one PRIMARY KEY"));
            }
            self.primary_key = ident_list(c)?;
            not_enforced(c, pos)?;
            return Ok(());
        }
        if c.eat_word("WATERMARK") {
            c.expect_kw(Keyword::FOR)?;
            let column = c.ident("the rowtime column")?;
            c.expect_kw(Keyword::AS)?;
            let (a, b) = c.skip_expr();
            if a == b {
                return Err(c.unexpected("a watermark expression"));
            }
            let expr = c.text(a, b);
            self.watermark = Some(Watermark { column, expr, pos });
            return Ok(());
        }
        let name = c.ident("a column name")?;
        if c.eat_kw(Keyword::AS) {
            let (a, b) = skip_column_expr(c);
            if a == b {
                return Err(c.unexpected("an expression"));
            }
            let expr = QueryText {
                sql: c.text(a, b),
                pos: c.pos_at(a),
            };
            if c.eat_kw(Keyword::COMMENT) {
                c.string("a comment string")?;
            }
            if !columns.insert(name.clone()) {
                return Err(SqlError::invalid(
                    pos,
                    format!("column `{name}` declared twice"),
                ));
            }
            self.computed.push(ComputedColumn {
                name,
                expr,
                pos,
                after: self.columns.len(),
            });
            return Ok(());
        }
        let data_type = FlinkType::parse(c)?;
        let mut nullable = true;
        let mut metadata = None;
        loop {
            if c.eat_kw(Keyword::NOT) {
                c.expect_kw(Keyword::NULL)?;
                nullable = false;
            } else if c.eat_kw(Keyword::NULL) {
            } else if c.eat_kw(Keyword::PRIMARY) {
                c.expect_kw(Keyword::KEY)?;
                not_enforced(c, pos)?;
                self.primary_key = vec![name.clone()];
            } else if c.eat_kw(Keyword::COMMENT) {
                c.string("a comment string")?;
            } else if c.peek_word("METADATA") {
                let mpos = c.pos();
                c.next();
                let key = if c.eat_kw(Keyword::FROM) {
                    Some(c.string("a metadata key string")?)
                } else {
                    None
                };
                let is_virtual = c.eat_word("VIRTUAL");
                metadata = Some(MetadataColumn {
                    key,
                    is_virtual,
                    pos: mpos,
                });
            } else {
                break;
            }
        }
        if !columns.insert(name.clone()) {
            return Err(SqlError::invalid(
                pos,
                format!("column `{name}` declared twice"),
            ));
        }
        self.columns.push(ColumnDef {
            name,
            data_type,
            nullable,
            pos,
            metadata,
        });
        Ok(())
    }

    fn check(&mut self) -> Result<(), SqlError> {
        // A LIKE or AS query supplies the columns; their checks belong to the engine.
        if self.like.is_some() || self.as_query.is_some() {
            return Ok(());
        }
        // Column indexes by name: the checks take linear time even for huge tables and lists.
        let index: HashMap<String, usize> = self
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name.clone(), i))
            .collect();
        let computed: HashSet<&str> = self.computed.iter().map(|c| c.name.as_str()).collect();
        for k in &self.primary_key {
            match index.get(k) {
                Some(&i) => self.columns[i].nullable = false,
                None => {
                    return Err(SqlError::invalid(
                        self.pos,
                        format!(
                            "primary key column `{k}` is not a column of `{}`",
                            self.name
                        ),
                    ))
                }
            }
        }
        for p in &self.partitioned_by {
            if !index.contains_key(p) {
                return Err(SqlError::invalid(
                    self.pos,
                    format!("partition column `{p}` is not a column of `{}`", self.name),
                ));
            }
        }
        if let Some(w) = &self.watermark {
            if !index.contains_key(&w.column) && !computed.contains(w.column.as_str()) {
                return Err(SqlError::invalid(
                    w.pos,
                    format!(
                        "watermark column `{}` is not a column of `{}`",
                        w.column, self.name
                    ),
                ));
            }
        }
        if self.columns.is_empty() {
            return Err(SqlError::invalid(
                self.pos,
                format!("table `{}` has no columns", self.name),
            ));
        }
        Ok(())
    }
}

fn not_enforced(c: &mut Cursor<'_>, pos: Pos) -> Result<(), SqlError> {
    if c.eat_kw(Keyword::NOT) {
        if c.eat_word("ENFORCED") {
            return Ok(());
        }
        return Err(c.unexpected("ENFORCED"));
    }
    Err(SqlError::invalid(
        pos,
        "Flink does not support ENFORCED primary keys; write PRIMARY KEY (…) NOT ENFORCED",
    ))
}

/// `WITH ('key' = 'value', …)` after `WITH`; keys must be unique.
pub(crate) fn parse_options(c: &mut Cursor<'_>) -> Result<Vec<TableOption>, SqlError> {
    c.expect(&Token::LParen)?;
    let mut keys = HashSet::new();
    let mut out = Vec::new();
    if c.eat(&Token::RParen) {
        return Ok(out);
    }
    loop {
        let pos = c.pos();
        let key = c.string("an option key string")?;
        c.expect(&Token::Eq)?;
        let value = c.string("an option value string")?;
        if !keys.insert(key.clone()) {
            return Err(SqlError::invalid(
                pos,
                format!("option '{key}' given twice"),
            ));
        }
        out.push(TableOption { key, value, pos });
        if !c.eat(&Token::Comma) {
            break;
        }
    }
    c.expect(&Token::RParen)?;
    Ok(out)
}

/// After `DISTRIBUTED`: `BY [HASH | RANGE] (cols) [INTO n BUCKETS]` or `INTO n BUCKETS`.
fn parse_distribution(c: &mut Cursor<'_>) -> Result<Distribution, SqlError> {
    let mut d = Distribution {
        algorithm: String::new(),
        columns: Vec::new(),
        buckets: None,
    };
    if c.eat_kw(Keyword::BY) {
        if c.eat_word("HASH") {
            d.algorithm = "HASH".into();
        } else if c.eat_word("RANGE") {
            d.algorithm = "RANGE".into();
        }
        d.columns = ident_list(c)?;
    }
    if c.eat_kw(Keyword::INTO) {
        d.buckets = Some(c.number("a number of buckets")?);
        if !c.eat_word("BUCKETS") {
            return Err(c.unexpected("BUCKETS"));
        }
    } else if d.columns.is_empty() {
        return Err(c.unexpected("BY or INTO"));
    }
    Ok(d)
}

/// Skips a computed column's expression: up to `,` or `)` at depth 0, or `COMMENT` at depth
/// 0; returns the token range.
fn skip_column_expr(c: &mut Cursor<'_>) -> (usize, usize) {
    let start = c.index();
    let mut depth = 0i32;
    while let Some(t) = c.peek() {
        match t {
            Token::LParen => depth += 1,
            Token::RParen if depth == 0 => break,
            Token::RParen => depth -= 1,
            Token::Comma if depth == 0 => break,
            Token::Word(w)
                if depth == 0 && w.quote_style.is_none() && w.keyword == Keyword::COMMENT =>
            {
                break
            }
            _ => {}
        }
        c.next();
    }
    (start, c.index())
}

/// `( ident, … )`.
pub(crate) fn ident_list(c: &mut Cursor<'_>) -> Result<Vec<String>, SqlError> {
    c.expect(&Token::LParen)?;
    let mut out = vec![c.ident("a column name")?];
    while c.eat(&Token::Comma) {
        out.push(c.ident("a column name")?);
    }
    c.expect(&Token::RParen)?;
    Ok(out)
}
