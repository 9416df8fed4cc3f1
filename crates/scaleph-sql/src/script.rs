//! Splitting a script into statements and classifying them.

use crate::cursor::{pos_of, tokenize, Cursor, Source};
use crate::ddl::{ident_list, TableDef};
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
    CreateTable(TableDef),
    /// `CREATE [TEMPORARY] VIEW`.
    CreateView(ViewDef),
    /// A single `INSERT`.
    Insert(InsertDef),
    /// `EXECUTE STATEMENT SET BEGIN … END` (or `BEGIN STATEMENT SET; … END;`): all inserts run
    /// as one job and publish together.
    StatementSet(Vec<InsertDef>),
    /// A plain query (`SELECT`, `WITH`, `VALUES`).
    Query(QueryText),
}

/// A statement with the position of its first token.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// What it is.
    pub kind: StatementKind,
    /// Position of its first token.
    pub pos: Pos,
}

/// Parses a whole Flink SQL script.
///
/// # Errors
/// The first problem found, as a [`SqlError`] with its `line:column`: syntax errors, Flink
/// statements this platform does not run (`unsupported: …`), and DDL errors (unknown type,
/// duplicate column or option, key/partition/watermark column not declared).
pub fn parse_script(text: &str) -> Result<Vec<Statement>, SqlError> {
    let src = Source::new(text);
    let tokens = tokenize(text)?;
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
        let stmt = if let Some(skip) = set {
            parse_statement_set(&src, &slice[skip..], end_pos, pos_of(&tokens[start]))?
        } else {
            parse_statement(&src, slice, end_pos)?
        };
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
            c.eat_kw(Keyword::TEMPORARY);
            if c.eat_kw(Keyword::TABLE) {
                StatementKind::CreateTable(TableDef::parse(&mut c)?)
            } else if c.eat_kw(Keyword::VIEW) {
                StatementKind::CreateView(parse_view(&mut c)?)
            } else {
                let what = c
                    .ident("TABLE or VIEW")
                    .unwrap_or_default()
                    .to_ascii_uppercase();
                return Err(SqlError::unsupported(pos, format!("CREATE {what}")));
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
        _ => {
            c.next();
            let second = match c.peek() {
                Some(Token::Word(w)) if w.quote_style.is_none() => {
                    format!(" {}", w.value.to_ascii_uppercase())
                }
                _ => String::new(),
            };
            return Err(SqlError::unsupported(
                pos,
                format!("{first}{second} statement"),
            ));
        }
    };
    Ok(Statement { kind, pos })
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
    let if_not_exists = if c.eat_kw(Keyword::IF) {
        c.expect_kw(Keyword::NOT)?;
        c.expect_kw(Keyword::EXISTS)?;
        true
    } else {
        false
    };
    let pos = c.pos();
    let name = table_name(c)?;
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
    let target = table_name(c)?;
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

/// A table name; accepts `default_catalog.default_database.t` and `default_database.t`.
pub(crate) fn table_name(c: &mut Cursor<'_>) -> Result<String, SqlError> {
    let pos = c.pos();
    let mut parts = c.object_name("a table name")?;
    let name = parts.pop().unwrap_or_default();
    match parts.as_slice() {
        [] => Ok(name),
        [db] if db == "default_database" => Ok(name),
        [cat, db] if cat == "default_catalog" && db == "default_database" => Ok(name),
        _ => Err(SqlError::unsupported(
            pos,
            format!(
                "catalog/database `{}` (only default_catalog.default_database)",
                parts.join(".")
            ),
        )),
    }
}

#[cfg(test)]
mod tests;
