//! Splitting a script into statements and classifying them.

use crate::cursor::{pos_of, tokenize, Cursor, Source};
use crate::ddl::{ident_list, parse_options, TableDef, TableOption};
use crate::error::{Pos, SqlError};
use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Token, TokenWithSpan};

/// A query (or query-like) text cut out of a script, with where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryText {
    /// The text, trimmed, without the terminating `;`.
    pub sql: String,
    /// Position of its first character in the script.
    pub pos: Pos,
}

impl QueryText {
    /// The text preceded by `pos.line - 1` newlines and `pos.column - 1` spaces, so that a parser
    /// reading it reports positions relative to the whole script.
    pub fn padded(&self) -> String {
        let mut s =
            String::with_capacity(self.sql.len() + (self.pos.line + self.pos.column) as usize);
        for _ in 1..self.pos.line {
            s.push('\n');
        }
        for _ in 1..self.pos.column {
            s.push(' ');
        }
        s.push_str(&self.sql);
        s
    }
}

/// `CREATE [TEMPORARY] VIEW name [(cols)] AS query`.
#[derive(Debug, Clone, PartialEq)]
pub struct ViewDef {
    /// View name.
    pub name: String,
    /// Catalog and database before the name, when not Flink's defaults; empty otherwise.
    pub qualifier: Vec<String>,
    /// Position of the name.
    pub pos: Pos,
    /// `IF NOT EXISTS` given.
    pub if_not_exists: bool,
    /// Optional column aliases.
    pub columns: Option<Vec<String>>,
    /// The defining query.
    pub query: QueryText,
}

/// `INSERT INTO|OVERWRITE target [PARTITION (k = 'v', …)] [(cols)] query`.
#[derive(Debug, Clone, PartialEq)]
pub struct InsertDef {
    /// Target table name.
    pub target: String,
    /// Catalog and database before the target name, when not Flink's defaults; empty
    /// otherwise.
    pub target_qualifier: Vec<String>,
    /// Position of the target name.
    pub target_pos: Pos,
    /// `INSERT OVERWRITE`: replaces the table's (or the static partition's) contents.
    pub overwrite: bool,
    /// Static partition values from `PARTITION (…)`.
    pub static_partition: Vec<(String, String)>,
    /// Explicit target column list.
    pub columns: Option<Vec<String>>,
    /// The source query.
    pub query: QueryText,
}

/// One statement of a script.
#[derive(Debug, Clone, PartialEq)]
pub enum StatementKind {
    /// `SET 'key' = 'value'`.
    Set {
        /// Option key.
        key: String,
        /// Option value.
        value: String,
    },
    /// `RESET ['key']`; `None` resets all.
    Reset {
        /// The key to reset, if one.
        key: Option<String>,
    },
    /// `CREATE TABLE`.
    CreateTable(Box<TableDef>),
    /// `CREATE [TEMPORARY] VIEW`.
    CreateView(ViewDef),
    /// A single `INSERT`.
    Insert(InsertDef),
    /// `EXECUTE STATEMENT SET BEGIN … END` (or `BEGIN STATEMENT SET; … END;`): all inserts run
    /// as one job and publish together.
    StatementSet(Vec<InsertDef>),
    /// A plain query (`SELECT`, `WITH`, `VALUES`).
    Query(QueryText),
    /// `CREATE [TEMPORARY [SYSTEM]] FUNCTION`.
    CreateFunction(FunctionDef),
    /// `CREATE CATALOG name [COMMENT '…'] WITH (…)`.
    CreateCatalog {
        /// Catalog name.
        name: String,
        /// Catalog options.
        options: Vec<TableOption>,
    },
    /// `CREATE DATABASE [IF NOT EXISTS] [catalog.]name [COMMENT '…'] [WITH (…)]`.
    CreateDatabase {
        /// Name parts.
        name: Vec<String>,
        /// Database properties.
        options: Vec<TableOption>,
    },
    /// `USE CATALOG name`, `USE [catalog.]database`, `USE MODULES a, b`.
    Use(UseTarget),
    /// `ADD JAR '…'`.
    AddJar {
        /// The jar's path or URL.
        path: String,
    },
    /// `EXPLAIN [PLAN FOR | detail, …] statement`: the statement explained.
    Explain {
        /// Explain details (`ESTIMATED_COST`, `CHANGELOG_MODE`, `JSON_EXECUTION_PLAN`,
        /// `PLAN_ADVICE`), upper case.
        details: Vec<String>,
        /// The statement explained.
        statement: Box<Statement>,
    },
    /// A statement the platform passes to the engine as written, naming what it is: `SHOW …`,
    /// `DESCRIBE`/`DESC`, `ALTER …`, `DROP …`, `REMOVE JAR`, `LOAD`/`UNLOAD MODULE`,
    /// `ANALYZE TABLE`, `TRUNCATE TABLE`, `DELETE`, `UPDATE`, `CALL`, `SHOW CREATE …`.
    Other {
        /// The leading words in upper case, e.g. `SHOW TABLES`, `ALTER TABLE`, `DROP VIEW`.
        verb: String,
        /// The whole statement.
        text: QueryText,
    },
}

/// What a `USE` statement switches to.
#[derive(Debug, Clone, PartialEq)]
pub enum UseTarget {
    /// `USE CATALOG name`.
    Catalog(String),
    /// `USE [catalog.]database`.
    Database(Vec<String>),
    /// `USE MODULES a, b`.
    Modules(Vec<String>),
}

/// `CREATE [TEMPORARY [SYSTEM]] FUNCTION [IF NOT EXISTS] name AS 'class'
/// [LANGUAGE JAVA | SCALA | PYTHON] [USING JAR '…' [, JAR '…']]`.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionDef {
    /// Function name parts.
    pub name: Vec<String>,
    /// The implementing class (or Python `module.function`).
    pub class: String,
    /// `JAVA` (default), `SCALA` or `PYTHON`.
    pub language: String,
    /// `TEMPORARY`.
    pub temporary: bool,
    /// `TEMPORARY SYSTEM`.
    pub system: bool,
    /// `IF NOT EXISTS`.
    pub if_not_exists: bool,
    /// Jars of `USING JAR`.
    pub jars: Vec<String>,
}

/// A statement with the position of its first token.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// What it is.
    pub kind: StatementKind,
    /// Position of its first token.
    pub pos: Pos,
    /// The `/*+ … */` hints written inside it (`OPTIONS(…)`, join hints), in order.
    pub hints: Vec<Hint>,
}

/// A `/*+ … */` hint.
#[derive(Debug, Clone, PartialEq)]
pub struct Hint {
    /// The text inside the comment after `+`, trimmed, e.g. `OPTIONS('k' = 'v')`.
    pub text: String,
    /// Position of `/*+`.
    pub pos: Pos,
}

impl Hint {
    /// The key/value pairs of an `OPTIONS('k' = 'v', …)` hint; `None` for other hints or when
    /// they cannot be read.
    pub fn options(&self) -> Option<Vec<(String, String)>> {
        if self.name() != "OPTIONS" {
            return None;
        }
        let (tokens, _) = tokenize(&self.text).ok()?;
        let mut out = Vec::new();
        let mut it = tokens.iter().map(|t| &t.token).skip(1);
        if it.next()? != &Token::LParen {
            return None;
        }
        loop {
            let k = match it.next()? {
                Token::SingleQuotedString(s) => s.clone(),
                Token::RParen if out.is_empty() => return Some(out),
                _ => return None,
            };
            if it.next()? != &Token::Eq {
                return None;
            }
            let Token::SingleQuotedString(v) = it.next()? else {
                return None;
            };
            out.push((k, v.clone()));
            match it.next()? {
                Token::Comma => {}
                Token::RParen => return Some(out),
                _ => return None,
            }
        }
    }

    /// The hint's name in upper case (`OPTIONS`, `BROADCAST`, `LOOKUP`, …).
    pub fn name(&self) -> String {
        self.text
            .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
            .next()
            .unwrap_or("")
            .to_ascii_uppercase()
    }
}

/// Parses a whole Flink SQL script.
///
/// # Errors
/// The first problem found, as a [`SqlError`] with its `line:column`: syntax errors, Flink
/// statements this platform does not run (`unsupported: …`), and DDL errors (unknown type,
/// duplicate column or option, key/partition/watermark column not declared).
pub fn parse_script(text: &str) -> Result<Vec<Statement>, SqlError> {
    let src = Source::new(text);
    let (tokens, hints) = tokenize(text)?;
    let mut hints = hints.into_iter().peekable();
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if tokens[i].token == Token::SemiColon {
            i += 1;
            continue;
        }
        let start = i;
        let set = is_statement_set_start(&tokens[i..]);
        let end = if let Some(set) = set {
            let end = find_set_end(&tokens, i + set, &src)?;
            // The set's END closes a statement: `;` or the end of the script must follow.
            if let Some(t) = tokens.get(end).filter(|t| t.token != Token::SemiColon) {
                return Err(SqlError::syntax(
                    pos_of(t),
                    format!(
                        "expected ';' after the statement set's END, found '{}'",
                        t.token
                    ),
                ));
            }
            end
        } else {
            tokens[i..]
                .iter()
                .position(|t| t.token == Token::SemiColon)
                .map(|p| i + p)
                .unwrap_or(tokens.len())
        };
        let end_pos = tokens.get(end).map(pos_of).unwrap_or_else(|| src.end_pos());
        let slice = &tokens[start..end];
        let mut stmt = if let Some(skip) = set {
            parse_statement_set(&src, &slice[skip..], end_pos, pos_of(&tokens[start]))?
        } else {
            parse_statement(&src, slice, end_pos)?
        };
        while let Some((text, pos)) = hints.next_if(|(_, p)| *p < end_pos) {
            stmt.hints.push(Hint { text, pos });
        }
        out.push(stmt);
        i = end + 1;
    }
    Ok(out)
}

/// Number of tokens of a statement-set opener at the start, if there is one.
fn is_statement_set_start(t: &[TokenWithSpan]) -> Option<usize> {
    let w = |i: usize, s: &str| matches!(t.get(i).map(|t| &t.token), Some(Token::Word(w)) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(s));
    if w(0, "EXECUTE") && w(1, "STATEMENT") && w(2, "SET") && w(3, "BEGIN") {
        Some(4)
    } else if w(0, "BEGIN") && w(1, "STATEMENT") && w(2, "SET") {
        // Legacy form: `BEGIN STATEMENT SET;`
        if t.get(3).map(|t| &t.token) == Some(&Token::SemiColon) {
            Some(4)
        } else {
            Some(3)
        }
    } else {
        None
    }
}

/// Index of the `END` that closes a statement set whose body starts at `from`.
fn find_set_end(
    tokens: &[TokenWithSpan],
    from: usize,
    src: &Source<'_>,
) -> Result<usize, SqlError> {
    let mut depth = 0i32;
    for (k, t) in tokens.iter().enumerate().skip(from) {
        match &t.token {
            Token::LParen => depth += 1,
            Token::RParen => depth -= 1,
            Token::Word(w)
                if depth == 0 && w.keyword == Keyword::END && w.quote_style.is_none() =>
            {
                // `CASE … END` never stands right after `;`; a set's END does.
                let prev_semi = k > 0 && tokens[k - 1].token == Token::SemiColon;
                if prev_semi {
                    return Ok(k + 1);
                }
            }
            _ => {}
        }
    }
    Err(SqlError::syntax(
        tokens
            .get(from)
            .map(pos_of)
            .unwrap_or_else(|| src.end_pos()),
        "statement set is missing its closing END",
    ))
}

fn parse_statement_set(
    src: &Source<'_>,
    body: &[TokenWithSpan],
    end_pos: Pos,
    pos: Pos,
) -> Result<Statement, SqlError> {
    // body = `INSERT …; INSERT …; END`
    let body = &body[..body.len() - 1];
    let mut inserts = Vec::new();
    let mut i = 0;
    while i < body.len() {
        if body[i].token == Token::SemiColon {
            i += 1;
            continue;
        }
        let end = body[i..]
            .iter()
            .position(|t| t.token == Token::SemiColon)
            .map(|p| i + p)
            .unwrap_or(body.len());
        let epos = body.get(end).map(pos_of).unwrap_or(end_pos);
        let stmt = parse_statement(src, &body[i..end], epos)?;
        match stmt.kind {
            StatementKind::Insert(ins) => inserts.push(ins),
            _ => {
                return Err(SqlError::invalid(
                    stmt.pos,
                    "only INSERT statements are allowed inside a statement set",
                ))
            }
        }
        i = end + 1;
    }
    if inserts.is_empty() {
        return Err(SqlError::invalid(pos, "statement set contains no INSERT"));
    }
    Ok(Statement {
        kind: StatementKind::StatementSet(inserts),
        pos,
        hints: Vec::new(),
    })
}

fn parse_statement(
    src: &Source<'_>,
    toks: &[TokenWithSpan],
    end: Pos,
) -> Result<Statement, SqlError> {
    let mut c = Cursor::new(src, toks, end);
    let pos = c.pos();
    let first = match c.peek() {
        Some(Token::Word(w)) if w.quote_style.is_none() => w.value.to_ascii_uppercase(),
        Some(Token::LParen) => "(".to_string(),
        _ => return Err(c.unexpected("a statement")),
    };
    let kind = match first.as_str() {
        "SET" => {
            c.next();
            parse_set(&mut c)?
        }
        "RESET" => {
            c.next();
            let key = if c.is_done() {
                None
            } else {
                Some(c.string("an option key string")?)
            };
            StatementKind::Reset { key }
        }
        "CREATE" => {
            c.next();
            let or_replace = if c.eat_kw(Keyword::OR) {
                c.expect_kw(Keyword::REPLACE)?;
                true
            } else {
                false
            };
            let temporary = c.eat_kw(Keyword::TEMPORARY);
            let system = temporary && c.eat_kw(Keyword::SYSTEM);
            if !system && c.eat_kw(Keyword::TABLE) {
                StatementKind::CreateTable(Box::new(TableDef::parse(&mut c, or_replace)?))
            } else if !system && !or_replace && c.eat_kw(Keyword::VIEW) {
                StatementKind::CreateView(parse_view(&mut c)?)
            } else if c.eat_kw(Keyword::FUNCTION) {
                StatementKind::CreateFunction(parse_function(&mut c, temporary, system)?)
            } else if !temporary && !or_replace && c.eat_kw(Keyword::CATALOG) {
                let name = c.ident("a catalog name")?;
                if c.eat_kw(Keyword::COMMENT) {
                    c.string("a comment string")?;
                }
                c.expect_kw(Keyword::WITH)?;
                let options = parse_options(&mut c)?;
                end_of(&c, "CREATE CATALOG")?;
                StatementKind::CreateCatalog { name, options }
            } else if !temporary && !or_replace && c.eat_kw(Keyword::DATABASE) {
                if_not_exists(&mut c)?;
                let name = c.object_name("a database name")?;
                if c.eat_kw(Keyword::COMMENT) {
                    c.string("a comment string")?;
                }
                let options = if c.eat_kw(Keyword::WITH) {
                    parse_options(&mut c)?
                } else {
                    Vec::new()
                };
                end_of(&c, "CREATE DATABASE")?;
                StatementKind::CreateDatabase { name, options }
            } else {
                return Err(c.unexpected("TABLE, VIEW, FUNCTION, CATALOG or DATABASE"));
            }
        }
        "USE" => {
            c.next();
            let target = if c.eat_kw(Keyword::CATALOG) {
                UseTarget::Catalog(c.ident("a catalog name")?)
            } else if c.eat_word("MODULES") {
                let mut m = vec![c.ident("a module name")?];
                while c.eat(&Token::Comma) {
                    m.push(c.ident("a module name")?);
                }
                UseTarget::Modules(m)
            } else {
                UseTarget::Database(c.object_name("a database name")?)
            };
            end_of(&c, "USE")?;
            StatementKind::Use(target)
        }
        "ADD" if matches!(c.peek_nth(1), Some(Token::Word(w)) if w.value.eq_ignore_ascii_case("JAR")) =>
        {
            c.next();
            c.next();
            let path = c.string("a jar path string")?;
            end_of(&c, "ADD JAR")?;
            StatementKind::AddJar { path }
        }
        "EXPLAIN" => {
            c.next();
            let mut details = Vec::new();
            if c.eat_kw(Keyword::PLAN) {
                c.expect_kw(Keyword::FOR)?;
            } else {
                while let Some(Token::Word(w)) = c.peek() {
                    let u = w.value.to_ascii_uppercase();
                    if !matches!(
                        u.as_str(),
                        "ESTIMATED_COST" | "CHANGELOG_MODE" | "JSON_EXECUTION_PLAN" | "PLAN_ADVICE"
                    ) {
                        break;
                    }
                    c.next();
                    details.push(u);
                    if !c.eat(&Token::Comma) {
                        break;
                    }
                }
            }
            let rest = &toks[c.index()..];
            if rest.is_empty() {
                return Err(c.unexpected("a statement to explain"));
            }
            let inner = if let Some(skip) = is_statement_set_start(rest) {
                let body_end = rest.len();
                parse_statement_set(src, &rest[skip..body_end], end, pos_of(&rest[0]))?
            } else {
                parse_statement(src, rest, end)?
            };
            StatementKind::Explain {
                details,
                statement: Box::new(inner),
            }
        }
        "SHOW" | "DESCRIBE" | "DESC" | "ALTER" | "DROP" | "REMOVE" | "LOAD" | "UNLOAD"
        | "ANALYZE" | "TRUNCATE" | "DELETE" | "UPDATE" | "CALL" => {
            let mut words = Vec::new();
            let mut k = 0;
            while let Some(Token::Word(w)) = c.peek_nth(k) {
                let u = w.value.to_ascii_uppercase();
                let leading = k == 0
                    || matches!(
                        u.as_str(),
                        "TEMPORARY"
                            | "SYSTEM"
                            | "TABLE"
                            | "TABLES"
                            | "VIEW"
                            | "VIEWS"
                            | "FUNCTION"
                            | "FUNCTIONS"
                            | "CATALOG"
                            | "CATALOGS"
                            | "DATABASE"
                            | "DATABASES"
                            | "MODULE"
                            | "MODULES"
                            | "JAR"
                            | "JARS"
                            | "CREATE"
                            | "COLUMNS"
                            | "CURRENT"
                            | "USER"
                            | "PARTITIONS"
                            | "PROCEDURES"
                            | "MATERIALIZED"
                            | "MODELS"
                            | "MODEL"
                            | "JOBS"
                            | "JOB"
                            | "FULL"
                            | "FROM"
                    );
                if !leading || w.quote_style.is_some() || k >= 4 {
                    break;
                }
                words.push(u);
                k += 1;
            }
            StatementKind::Other {
                verb: words.join(" "),
                text: QueryText {
                    sql: c.text(0, usize::MAX),
                    pos,
                },
            }
        }
        "INSERT" => {
            c.next();
            StatementKind::Insert(parse_insert(&mut c)?)
        }
        "EXECUTE" if matches!(c.peek_nth(1), Some(Token::Word(w)) if w.value.eq_ignore_ascii_case("INSERT")) =>
        {
            c.next();
            c.next();
            StatementKind::Insert(parse_insert(&mut c)?)
        }
        "SELECT" | "WITH" | "VALUES" | "(" => StatementKind::Query(QueryText {
            sql: c.text(0, usize::MAX),
            pos,
        }),
        _ => return Err(c.unexpected("a statement")),
    };
    Ok(Statement {
        kind,
        pos,
        hints: Vec::new(),
    })
}

/// `IF NOT EXISTS`, if present.
fn if_not_exists(c: &mut Cursor<'_>) -> Result<bool, SqlError> {
    if c.eat_kw(Keyword::IF) {
        c.expect_kw(Keyword::NOT)?;
        c.expect_kw(Keyword::EXISTS)?;
        return Ok(true);
    }
    Ok(false)
}

fn end_of(c: &Cursor<'_>, what: &str) -> Result<(), SqlError> {
    if c.is_done() {
        Ok(())
    } else {
        Err(c.unexpected(&format!("end of {what}")))
    }
}

/// After `CREATE [TEMPORARY [SYSTEM]] FUNCTION`.
fn parse_function(
    c: &mut Cursor<'_>,
    temporary: bool,
    system: bool,
) -> Result<FunctionDef, SqlError> {
    let if_not_exists = if_not_exists(c)?;
    let name = c.object_name("a function name")?;
    c.expect_kw(Keyword::AS)?;
    let class = c.string("the implementing class as a string")?;
    let language = if c.eat_kw(Keyword::LANGUAGE) {
        let l = c.ident("JAVA, SCALA or PYTHON")?.to_ascii_uppercase();
        if !matches!(l.as_str(), "JAVA" | "SCALA" | "PYTHON") {
            return Err(SqlError::syntax(
                c.pos_at(c.index() - 1),
                format!("expected JAVA, SCALA or PYTHON, found {l}"),
            ));
        }
        l
    } else {
        "JAVA".to_string()
    };
    let mut jars = Vec::new();
    if c.eat_kw(Keyword::USING) {
        loop {
            if !c.eat_word("JAR") {
                return Err(c.unexpected("JAR"));
            }
            jars.push(c.string("a jar path string")?);
            if !c.eat(&Token::Comma) {
                break;
            }
        }
    }
    end_of(c, "CREATE FUNCTION")?;
    Ok(FunctionDef {
        name,
        class,
        language,
        temporary,
        system,
        if_not_exists,
        jars,
    })
}

fn parse_set(c: &mut Cursor<'_>) -> Result<StatementKind, SqlError> {
    if c.is_done() {
        return Err(SqlError::unsupported(
            c.pos(),
            "SET without a key (listing options)",
        ));
    }
    if matches!(c.peek(), Some(Token::SingleQuotedString(_))) {
        let key = c.string("an option key string")?;
        c.expect(&Token::Eq)?;
        let value = c.string("an option value string")?;
        if !c.is_done() {
            return Err(c.unexpected("end of SET"));
        }
        return Ok(StatementKind::Set { key, value });
    }
    // Legacy unquoted form: SET key.with-dashes = value
    let start = c.index();
    while !c.is_done() && c.peek() != Some(&Token::Eq) {
        c.next();
    }
    let eq = c.index();
    if !c.eat(&Token::Eq) || eq == start {
        return Err(c.unexpected("'key' = 'value'"));
    }
    let key = c.text(start, eq);
    let value = c.text(eq + 1, usize::MAX);
    Ok(StatementKind::Set { key, value })
}

fn parse_view(c: &mut Cursor<'_>) -> Result<ViewDef, SqlError> {
    let if_not_exists = if_not_exists(c)?;
    let pos = c.pos();
    let (qualifier, name) = table_name(c)?;
    let columns = if c.peek() == Some(&Token::LParen) {
        Some(ident_list(c)?)
    } else {
        None
    };
    if c.eat_kw(Keyword::COMMENT) {
        c.string("a comment string")?;
    }
    c.expect_kw(Keyword::AS)?;
    let query = rest_as_query(c)?;
    Ok(ViewDef {
        name,
        qualifier,
        pos,
        if_not_exists,
        columns,
        query,
    })
}

fn parse_insert(c: &mut Cursor<'_>) -> Result<InsertDef, SqlError> {
    let overwrite = if c.eat_kw(Keyword::OVERWRITE) {
        true
    } else {
        c.expect_kw(Keyword::INTO)?;
        false
    };
    let target_pos = c.pos();
    let (target_qualifier, target) = table_name(c)?;
    let mut static_partition = Vec::new();
    if c.eat_kw(Keyword::PARTITION) {
        c.expect(&Token::LParen)?;
        loop {
            let k = c.ident("a partition column")?;
            c.expect(&Token::Eq)?;
            let v = match c.next().map(|t| &t.token) {
                Some(Token::SingleQuotedString(s)) => s.clone(),
                Some(Token::Number(n, _)) => n.clone(),
                _ => return Err(c.unexpected("a partition value literal")),
            };
            static_partition.push((k, v));
            if !c.eat(&Token::Comma) {
                break;
            }
        }
        c.expect(&Token::RParen)?;
    }
    let columns = match (c.peek(), c.peek_nth(1)) {
        (Some(Token::LParen), Some(Token::Word(w)))
            if !matches!(w.keyword, Keyword::SELECT | Keyword::WITH | Keyword::VALUES) =>
        {
            Some(ident_list(c)?)
        }
        _ => None,
    };
    let query = rest_as_query(c)?;
    Ok(InsertDef {
        target,
        target_qualifier,
        target_pos,
        overwrite,
        static_partition,
        columns,
        query,
    })
}

fn rest_as_query(c: &mut Cursor<'_>) -> Result<QueryText, SqlError> {
    if c.is_done() {
        return Err(c.unexpected("a query"));
    }
    let start = c.index();
    let pos = c.pos_at(start);
    Ok(QueryText {
        sql: c.text(start, usize::MAX),
        pos,
    })
}

/// A table name `[[catalog.]database.]name`: the qualifier (empty when it is Flink's default
/// `default_catalog.default_database` or `default_database`) and the name.
pub(crate) fn table_name(c: &mut Cursor<'_>) -> Result<(Vec<String>, String), SqlError> {
    let mut parts = c.object_name("a table name")?;
    if parts.len() > 3 {
        return Err(SqlError::syntax(
            c.pos(),
            format!(
                "`{}` has more than three parts (catalog.database.name)",
                parts.join(".")
            ),
        ));
    }
    let name = parts.pop().unwrap_or_default();
    let default = match parts.as_slice() {
        [] => true,
        [db] => db == "default_database",
        [cat, db] => cat == "default_catalog" && db == "default_database",
        _ => false,
    };
    Ok((if default { Vec::new() } else { parts }, name))
}

#[cfg(test)]
mod tests;
