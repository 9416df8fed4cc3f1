//! Turning DataFusion and sqlparser errors into positioned [`SqlError`]s.

use datafusion::error::DataFusionError;
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};
use scaleph_sql::{Pos, QueryText, SqlError};

/// Extracts `Line: L, Column: C` from a sqlparser message.
pub(crate) fn parser_pos(msg: &str) -> Option<Pos> {
    let i = msg.rfind("Line: ")?;
    let rest = &msg[i + 6..];
    let (line, rest) = rest.split_once(", Column: ")?;
    let col: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    Some(Pos::new(line.trim().parse().ok()?, col.parse().ok()?))
}

/// Removes sqlparser's ` at Line: L, Column: C` suffix and DataFusion's kind prefixes.
fn clean(msg: &str) -> String {
    let mut m = msg.trim().to_string();
    if let Some(i) = m.rfind(" at Line: ") {
        m.truncate(i);
    }
    for p in [
        "Error during planning: ",
        "Schema error: ",
        "SQL error: ",
        "ParserError(\"",
        "sql parser error: ",
        "This feature is not implemented: ",
        "Optimizer rule '",
        "type_coercion\ncaused by\n",
    ] {
        while let Some(rest) = m.strip_prefix(p) {
            m = rest.to_string();
        }
    }
    m.trim_end_matches("\")").to_string()
}

/// Maps a planning error of `query` to a [`SqlError`]: the diagnostic span when DataFusion
/// gives one, else the position of a name the message mentions, else the query start.
pub(crate) fn plan_error(e: DataFusionError, query: &QueryText) -> SqlError {
    let e = e.find_root();
    if let DataFusionError::SQL(pe, _) = &e {
        let msg = pe.to_string();
        let pos = parser_pos(&msg).unwrap_or(query.pos);
        return SqlError::syntax(pos, clean(&msg));
    }
    let message = clean(&e.strip_backtrace());
    if let Some(d) = e.diagnostic() {
        if let Some(span) = d.span {
            if span.start.line > 0 {
                return SqlError::invalid(
                    Pos::new(span.start.line as u32, span.start.column as u32),
                    message,
                );
            }
        }
    }
    let pos = mentioned_name(&message)
        .and_then(|n| find_word(query, &n))
        .unwrap_or(query.pos);
    if message.starts_with("Unsupported")
        || message.contains("not supported")
        || message.contains("not implemented")
    {
        return SqlError::unsupported(pos, message);
    }
    SqlError::invalid(pos, message)
}

/// The identifier named in "No field named x", "table 'x' not found", "Invalid function 'x'".
fn mentioned_name(msg: &str) -> Option<String> {
    if let Some(rest) = msg.strip_prefix("No field named ") {
        let name = rest.split_once(". ").map(|(a, _)| a).unwrap_or(rest);
        let name = name.trim_end_matches('.');
        let name = name.rsplit('.').next().unwrap_or(name);
        return Some(name.trim_matches(['"', '`']).to_string());
    }
    let start = msg.find('\'')? + 1;
    let len = msg[start..].find('\'')?;
    let name = &msg[start..start + len];
    Some(name.rsplit('.').next().unwrap_or(name).to_string())
}

/// Position of the first word token equal to `name` (case-insensitive) in the query.
pub(crate) fn find_word(query: &QueryText, name: &str) -> Option<Pos> {
    let text = query.padded();
    let tokens = Tokenizer::new(&GenericDialect {}, &text)
        .tokenize_with_location()
        .ok()?;
    tokens.iter().find_map(|t| match &t.token {
        Token::Word(w) if w.value.eq_ignore_ascii_case(name) => Some(Pos::new(
            t.span.start.line as u32,
            t.span.start.column as u32,
        )),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_parser_positions() {
        assert_eq!(
            parser_pos("Expected: an expression, found: FROM at Line: 3, Column: 8"),
            Some(Pos::new(3, 8))
        );
        assert_eq!(
            clean("sql parser error: Expected: x, found: y at Line: 1, Column: 2"),
            "Expected: x, found: y"
        );
    }

    #[test]
    fn names_in_messages() {
        assert_eq!(
            mentioned_name("No field named qty. Valid fields are t.a").as_deref(),
            Some("qty")
        );
        assert_eq!(
            mentioned_name("No field named t.qty. Valid fields are t.a").as_deref(),
            Some("qty")
        );
        assert_eq!(
            mentioned_name("table 'default.public.nope' not found").as_deref(),
            Some("nope")
        );
    }
}
