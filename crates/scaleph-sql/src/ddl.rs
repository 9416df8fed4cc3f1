//! `CREATE TABLE` in Flink's grammar.

use crate::cursor::Cursor;
use crate::error::{Pos, SqlError};
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

/// A parsed `CREATE [TEMPORARY] TABLE`.
#[derive(Debug, Clone, PartialEq)]
pub struct TableDef {
    /// Table name (last part of the object name).
    pub name: String,
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

    /// Parses after `CREATE [TEMPORARY] TABLE`.
    pub(crate) fn parse(c: &mut Cursor<'_>) -> Result<TableDef, SqlError> {
        let if_not_exists = if c.eat_kw(Keyword::IF) {
            c.expect_kw(Keyword::NOT)?;
            c.expect_kw(Keyword::EXISTS)?;
            true
        } else {
            false
        };
        let pos = c.pos();
        let name = crate::script::table_name(c)?;
        if c.peek_kw(Keyword::AS) {
            return Err(SqlError::unsupported(c.pos(), "CREATE TABLE … AS SELECT"));
        }
        if c.peek_kw(Keyword::LIKE) {
            return Err(SqlError::unsupported(c.pos(), "CREATE TABLE … LIKE"));
        }
        let mut def = TableDef {
            name,
            pos,
            if_not_exists,
            columns: Vec::new(),
            primary_key: Vec::new(),
            watermark: None,
            partitioned_by: Vec::new(),
            options: Vec::new(),
        };
        c.expect(&Token::LParen)?;
        // Names seen so far, so that duplicates are found in linear time even in huge tables.
        let mut columns = HashSet::new();
        loop {
            def.parse_element(c, &mut columns)?;
            if !c.eat(&Token::Comma) {
                break;
            }
        }
        c.expect(&Token::RParen)?;
        if c.eat_kw(Keyword::COMMENT) {
            c.string("a comment string")?;
        }
        if c.eat_kw(Keyword::PARTITIONED) {
            c.expect_kw(Keyword::BY)?;
            def.partitioned_by = ident_list(c)?;
        }
        if c.eat_kw(Keyword::WITH) {
            c.expect(&Token::LParen)?;
            let mut keys = HashSet::new();
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
                def.options.push(TableOption { key, value, pos });
                if !c.eat(&Token::Comma) {
                    break;
                }
            }
            c.expect(&Token::RParen)?;
        }
        if c.peek_kw(Keyword::LIKE) {
            return Err(SqlError::unsupported(c.pos(), "CREATE TABLE … LIKE"));
        }
        if !c.is_done() {
            return Err(c.unexpected("end of CREATE TABLE"));
        }
        def.check()?;
        Ok(def)
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
            return Err(SqlError::unsupported(
                pos,
                format!("computed column `{name}`"),
            ));
        }
        let data_type = FlinkType::parse(c)?;
        let mut nullable = true;
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
                return Err(SqlError::unsupported(c.pos(), "METADATA column"));
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
        });
        Ok(())
    }

    fn check(&mut self) -> Result<(), SqlError> {
        // Column indexes by name: the checks take linear time even for huge tables and lists.
        let index: HashMap<String, usize> = self
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name.clone(), i))
            .collect();
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
            if !index.contains_key(&w.column) {
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
