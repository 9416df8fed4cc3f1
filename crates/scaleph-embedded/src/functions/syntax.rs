//! Flink syntax that the SQL parser does not read, rewritten in the query text into syntax it
//! does, keeping every other character at its line and column (so errors still point into the
//! user's text):
//!
//! | Flink | becomes |
//! |---|---|
//! | `MAP[k, v, …]` | `MAP(k, v, …)` |
//! | `JSON_OBJECT(KEY k VALUE v, …)`, `JSON_OBJECTAGG(KEY k VALUE v)` | `…(k , v, …)` |
//! | `x IS [NOT] JSON [VALUE\|SCALAR\|ARRAY\|OBJECT]` | `x @> 'V'` (`<@` for `NOT`; `S`, `A`, `O`) |
//! | `TUMBLE(TABLE t, …)` (a table argument) | `TUMBLE(      t, …)` |
//! | `SESSION(TABLE t PARTITION BY k, …)` | `SESSION(      t ,_p=>       k, …)` |
//! | `x BETWEEN SYMMETRIC a AND b` | `x BETWEEN ++        a AND b` (a marker: `+(+a)`) |
//! | `x BETWEEN ASYMMETRIC a AND b` | `x BETWEEN            a AND b` |
//!
//! The function rewrite ([`super::rewrite`]) then turns `MAP(…)` into `flink_map(…)` and the
//! `@>`/`<@` pairs into `flink_is_json(x, kind)`; Flink SQL has no `@>`/`<@` operators; and a
//! `BETWEEN` whose low bound is `+(+a)` into Calcite's expansion of `SYMMETRIC`.

use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};

/// `text` with the constructs above rewritten, every character count kept.
pub(crate) fn flink_syntax(text: &str) -> String {
    let Ok(tokens) = Tokenizer::new(&GenericDialect {}, text).tokenize_with_location() else {
        return text.to_string(); // the parser reports it
    };
    let mut chars: Vec<char> = text.chars().collect();
    // Char index of each line start (lines and columns are 1-based, counted in chars).
    let mut line_start = vec![0usize];
    for (i, c) in chars.iter().enumerate() {
        if *c == '\n' {
            line_start.push(i + 1);
        }
    }
    let at = |line: u64, col: u64| -> Option<usize> {
        line_start
            .get((line as usize).checked_sub(1)?)
            .map(|s| s + (col as usize).saturating_sub(1))
    };
    let toks: Vec<(&Token, usize, usize)> = tokens
        .iter()
        .filter(|t| !matches!(t.token, Token::Whitespace(_)))
        .filter_map(|t| {
            Some((
                &t.token,
                at(t.span.start.line, t.span.start.column)?,
                at(t.span.end.line, t.span.end.column)?,
            ))
        })
        .collect();
    let word = |i: usize| match toks.get(i) {
        Some((Token::Word(w), ..)) if w.quote_style.is_none() => Some(w.value.to_ascii_uppercase()),
        _ => None,
    };
    let blank = |chars: &mut Vec<char>, from: usize, to: usize, with: &str| {
        let mut w = with.chars();
        for c in chars.iter_mut().take(to).skip(from) {
            *c = w.next().unwrap_or(' ');
        }
    };
    // Open brackets: (is a MAP constructor or a JSON_OBJECT(AGG) call, position).
    #[derive(PartialEq)]
    enum Open {
        Map,
        JsonObject,
        Session,
        Other,
    }
    let mut stack: Vec<Open> = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let (tok, start, end) = (toks[i].0, toks[i].1, toks[i].2);
        match tok {
            Token::LBracket => {
                let is_map = i > 0 && word(i - 1).as_deref() == Some("MAP");
                if is_map {
                    blank(&mut chars, start, end, "(");
                }
                stack.push(if is_map { Open::Map } else { Open::Other });
            }
            Token::RBracket if stack.pop() == Some(Open::Map) => {
                blank(&mut chars, start, end, ")");
            }
            Token::RBracket => {}
            Token::LParen => {
                let f = if i > 0 { word(i - 1) } else { None };
                stack.push(match f.as_deref() {
                    Some("JSON_OBJECT" | "JSON_OBJECTAGG") => Open::JsonObject,
                    Some("SESSION") => Open::Session,
                    _ => Open::Other,
                });
            }
            Token::RParen => {
                stack.pop();
            }
            Token::Word(_) if stack.last() == Some(&Open::JsonObject) => {
                let prev = i.checked_sub(1).map(|p| toks[p].0);
                match word(i).as_deref() {
                    Some("KEY") if matches!(prev, Some(Token::LParen | Token::Comma)) => {
                        blank(&mut chars, start, end, "");
                    }
                    Some("VALUE") => blank(&mut chars, start, end, ","),
                    _ => {}
                }
            }
            // `SESSION(TABLE t PARTITION BY k, …)`: the partition keys become a named argument
            // `_p => k` (same length, so positions hold).
            Token::Word(_)
                if stack.last() == Some(&Open::Session)
                    && word(i).as_deref() == Some("PARTITION")
                    && word(i + 1).as_deref() == Some("BY") =>
            {
                blank(&mut chars, start, toks[i + 1].2, ",_p=>");
                i += 1;
            }
            // `TUMBLE(TABLE t, …)`: a table argument of a window function is read as `t`.
            Token::Word(_)
                if word(i).as_deref() == Some("TABLE")
                    && i > 0
                    && matches!(toks[i - 1].0, Token::LParen | Token::Comma | Token::RArrow)
                    && matches!(toks.get(i + 1), Some((Token::Word(_), ..))) =>
            {
                blank(&mut chars, start, end, "");
            }
            Token::Word(_)
                if word(i).as_deref() == Some("BETWEEN")
                    && matches!(word(i + 1).as_deref(), Some("SYMMETRIC" | "ASYMMETRIC")) =>
            {
                let (s, e) = (toks[i + 1].1, toks[i + 1].2);
                let symmetric = word(i + 1).as_deref() == Some("SYMMETRIC");
                blank(&mut chars, s, e, if symmetric { "++" } else { "" });
                i += 1;
            }
            Token::Word(_) if word(i).as_deref() == Some("IS") => {
                let negated = word(i + 1).as_deref() == Some("NOT");
                let j = i + 1 + usize::from(negated);
                if word(j).as_deref() == Some("JSON") {
                    let kind = match word(j + 1).as_deref() {
                        Some("SCALAR") => Some('S'),
                        Some("ARRAY") => Some('A'),
                        Some("OBJECT") => Some('O'),
                        Some("VALUE") => Some('V'),
                        _ => None,
                    };
                    let last = if kind.is_some() { j + 1 } else { j };
                    let op = if negated { "<@" } else { "@>" };
                    let with = format!("{op} '{}'", kind.unwrap_or('V'));
                    blank(&mut chars, start, toks[last].2, &with);
                    i = last;
                }
            }
            _ => {}
        }
        i += 1;
    }
    chars.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::flink_syntax;

    #[test]
    fn rewrites_keep_every_position() {
        let cases = [
            ("SELECT MAP['a', 1]['a']", "SELECT MAP('a', 1)['a']"),
            (
                "SELECT JSON_OBJECT(KEY 'k' VALUE 1, 'n' VALUE x)",
                "SELECT JSON_OBJECT(    'k' ,     1, 'n' ,     x)",
            ),
            (
                "SELECT s IS JSON, t IS NOT JSON OBJECT",
                "SELECT s @> 'V' , t <@ 'O'            ",
            ),
            (
                "SELECT * FROM TABLE(HOP(TABLE t, DESCRIPTOR(ts), INTERVAL '1' SECOND))",
                "SELECT * FROM TABLE(HOP(      t, DESCRIPTOR(ts), INTERVAL '1' SECOND))",
            ),
            (
                "SELECT x BETWEEN SYMMETRIC 3 AND 1, y NOT BETWEEN asymmetric 1 AND 2",
                "SELECT x BETWEEN ++        3 AND 1, y NOT BETWEEN            1 AND 2",
            ),
            (
                "SELECT ARRAY[1], a[1] FROM t",
                "SELECT ARRAY[1], a[1] FROM t",
            ),
        ];
        for (input, want) in cases {
            let got = flink_syntax(input);
            assert_eq!(got, want);
            assert_eq!(got.chars().count(), input.chars().count());
        }
    }
}
