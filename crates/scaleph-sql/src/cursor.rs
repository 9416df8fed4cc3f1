//! A cursor over significant tokens (no whitespace or comments) with positions.

use crate::error::{Pos, SqlError};
use sqlparser::dialect::GenericDialect;
use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer, Whitespace};

/// Significant tokens and the hints (text, position) of a script.
pub(crate) type Tokens = (Vec<TokenWithSpan>, Vec<(String, Pos)>);

/// Tokenizes a whole script. Comments and whitespace are dropped; `/*+ … */` hints are returned
/// apart (text inside the comment after `+`, position of `/*+`).
pub(crate) fn tokenize(script: &str) -> Result<Tokens, SqlError> {
    let dialect = FlinkTokens;
    let tokens = Tokenizer::new(&dialect, script)
        .with_unescape(true)
        .tokenize_with_location()
        .map_err(|e| {
            SqlError::syntax(
                Pos::new(e.location.line as u32, e.location.column as u32),
                e.message,
            )
        })?;
    let mut out = Vec::with_capacity(tokens.len());
    let mut hints = Vec::new();
    for t in tokens {
        match &t.token {
            Token::Whitespace(Whitespace::MultiLineComment(c)) if c.starts_with('+') => {
                hints.push((c[1..].trim().to_string(), pos_of(&t)));
            }
            Token::Whitespace(_) => {}
            _ => out.push(t),
        }
    }
    Ok((out, hints))
}

/// The generic dialect's tokens, except that `/*! … */` is a plain comment as in Flink (the
/// generic dialect reads MySQL's conditional comments as code, and reports their tokens one
/// column off — found by the `parse_script` fuzz target).
#[derive(Debug)]
struct FlinkTokens;

impl sqlparser::dialect::Dialect for FlinkTokens {
    fn is_delimited_identifier_start(&self, ch: char) -> bool {
        GenericDialect {}.is_delimited_identifier_start(ch)
    }
    fn is_identifier_start(&self, ch: char) -> bool {
        GenericDialect {}.is_identifier_start(ch)
    }
    fn is_identifier_part(&self, ch: char) -> bool {
        GenericDialect {}.is_identifier_part(ch)
    }
    fn supports_unicode_string_literal(&self) -> bool {
        GenericDialect {}.supports_unicode_string_literal()
    }
    fn supports_nested_comments(&self) -> bool {
        GenericDialect {}.supports_nested_comments()
    }
    fn supports_string_escape_constant(&self) -> bool {
        GenericDialect {}.supports_string_escape_constant()
    }
    fn supports_quote_delimited_string(&self) -> bool {
        GenericDialect {}.supports_quote_delimited_string()
    }
    fn supports_multiline_comment_hints(&self) -> bool {
        false
    }
}

pub(crate) fn pos_of(t: &TokenWithSpan) -> Pos {
    Pos::new(t.span.start.line as u32, t.span.start.column as u32)
}

/// Cursor over a slice of tokens, ending at `end` (the position reported at end of input).
pub(crate) struct Cursor<'a> {
    src: &'a Source<'a>,
    tokens: &'a [TokenWithSpan],
    idx: usize,
    end: Pos,
    /// A `>` left over after splitting `>>` while closing nested `ARRAY<MAP<…>>`.
    pending_gt: bool,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(src: &'a Source<'a>, tokens: &'a [TokenWithSpan], end: Pos) -> Self {
        Self {
            src,
            tokens,
            idx: 0,
            end,
            pending_gt: false,
        }
    }

    pub(crate) fn index(&self) -> usize {
        self.idx
    }

    /// Source text from the start of token `a` to the start of token `b` (or the cursor's end),
    /// trimmed.
    pub(crate) fn text(&self, a: usize, b: usize) -> String {
        let start = self.tokens.get(a).map(pos_of).unwrap_or(self.end);
        let end = self.tokens.get(b).map(pos_of).unwrap_or(self.end);
        self.src.slice(start, end).trim().to_string()
    }

    /// Position of token `i` (or the end).
    pub(crate) fn pos_at(&self, i: usize) -> Pos {
        self.tokens.get(i).map(pos_of).unwrap_or(self.end)
    }

    pub(crate) fn is_done(&self) -> bool {
        self.idx >= self.tokens.len() && !self.pending_gt
    }

    pub(crate) fn peek(&self) -> Option<&'a Token> {
        self.tokens.get(self.idx).map(|t| &t.token)
    }

    pub(crate) fn peek_nth(&self, n: usize) -> Option<&'a Token> {
        self.tokens.get(self.idx + n).map(|t| &t.token)
    }

    /// Position of the next token (or of the end).
    pub(crate) fn pos(&self) -> Pos {
        self.tokens.get(self.idx).map(pos_of).unwrap_or(self.end)
    }

    pub(crate) fn next(&mut self) -> Option<&'a TokenWithSpan> {
        let t = self.tokens.get(self.idx);
        if t.is_some() {
            self.idx += 1;
        }
        t
    }

    /// True and advances when the next token is the keyword `kw`.
    pub(crate) fn eat_kw(&mut self, kw: Keyword) -> bool {
        if self.peek_kw(kw) {
            self.idx += 1;
            true
        } else {
            false
        }
    }

    pub(crate) fn peek_kw(&self, kw: Keyword) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w.keyword == kw && w.quote_style.is_none())
    }

    /// True when the next token is an unquoted word equal (case-insensitively) to `word`.
    pub(crate) fn peek_word(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(word))
    }

    pub(crate) fn eat_word(&mut self, word: &str) -> bool {
        if self.peek_word(word) {
            self.idx += 1;
            true
        } else {
            false
        }
    }

    pub(crate) fn expect_kw(&mut self, kw: Keyword) -> Result<(), SqlError> {
        if self.eat_kw(kw) {
            Ok(())
        } else {
            Err(self.unexpected(&format!("{kw:?}")))
        }
    }

    pub(crate) fn eat(&mut self, tok: &Token) -> bool {
        if tok == &Token::Gt && self.pending_gt {
            self.pending_gt = false;
            return true;
        }
        if self.pending_gt {
            return false;
        }
        if self.peek() == Some(tok) {
            self.idx += 1;
            true
        } else if tok == &Token::Gt && self.peek() == Some(&Token::ShiftRight) {
            self.idx += 1;
            self.pending_gt = true;
            true
        } else {
            false
        }
    }

    pub(crate) fn expect(&mut self, tok: &Token) -> Result<(), SqlError> {
        if self.eat(tok) {
            Ok(())
        } else {
            Err(self.unexpected(&format!("'{tok}'")))
        }
    }

    /// An identifier: a word (quoted with backticks or double quotes, or bare).
    pub(crate) fn ident(&mut self, what: &str) -> Result<String, SqlError> {
        match self.peek() {
            Some(Token::Word(w)) => {
                self.idx += 1;
                Ok(w.value.clone())
            }
            _ => Err(self.unexpected(what)),
        }
    }

    /// A possibly qualified name `a.b.c`; returns its parts.
    pub(crate) fn object_name(&mut self, what: &str) -> Result<Vec<String>, SqlError> {
        let mut parts = vec![self.ident(what)?];
        while self.eat(&Token::Period) {
            parts.push(self.ident(what)?);
        }
        Ok(parts)
    }

    pub(crate) fn string(&mut self, what: &str) -> Result<String, SqlError> {
        match self.peek() {
            Some(Token::SingleQuotedString(s)) => {
                self.idx += 1;
                Ok(s.clone())
            }
            _ => Err(self.unexpected(what)),
        }
    }

    pub(crate) fn number(&mut self, what: &str) -> Result<u64, SqlError> {
        let pos = self.pos();
        match self.peek() {
            Some(Token::Number(n, _)) => {
                self.idx += 1;
                n.parse()
                    .map_err(|_| SqlError::syntax(pos, format!("expected {what}, found {n}")))
            }
            _ => Err(self.unexpected(what)),
        }
    }

    pub(crate) fn unexpected(&self, expected: &str) -> SqlError {
        let found = match self.tokens.get(self.idx) {
            Some(t) => format!("'{}'", t.token),
            None => "end of statement".to_string(),
        };
        SqlError::syntax(self.pos(), format!("expected {expected}, found {found}"))
    }

    /// Skips tokens up to (not including) the next `,` or `)` at nesting depth 0; returns the
    /// index range skipped. Used to capture expressions (watermarks) verbatim.
    pub(crate) fn skip_expr(&mut self) -> (usize, usize) {
        let start = self.idx;
        let mut depth = 0i32;
        while let Some(t) = self.peek() {
            match t {
                Token::LParen => depth += 1,
                Token::RParen if depth == 0 => break,
                Token::RParen => depth -= 1,
                Token::Comma if depth == 0 => break,
                _ => {}
            }
            self.idx += 1;
        }
        (start, self.idx)
    }
}

/// Script text with a line index, to turn token positions into byte offsets.
pub(crate) struct Source<'a> {
    pub(crate) text: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> Source<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        let mut line_starts = vec![0];
        for (i, b) in text.bytes().enumerate() {
            if b == b'\n' {
                line_starts.push(i + 1);
            }
        }
        Self { text, line_starts }
    }

    /// Byte offset of a 1-based position (columns in characters); clamps to the text.
    pub(crate) fn offset(&self, pos: Pos) -> usize {
        let Some(&line_start) = self.line_starts.get(pos.line.saturating_sub(1) as usize) else {
            return self.text.len();
        };
        let line = &self.text[line_start..];
        let col = pos.column.saturating_sub(1) as usize;
        line_start
            + line
                .char_indices()
                .nth(col)
                .map(|(i, _)| i)
                .unwrap_or(line.len())
    }

    pub(crate) fn slice(&self, a: Pos, b: Pos) -> &'a str {
        let (x, y) = (self.offset(a), self.offset(b));
        &self.text[x..y.max(x)]
    }

    /// Position just past the end of the text.
    pub(crate) fn end_pos(&self) -> Pos {
        let line = self.line_starts.len() as u32;
        let last = &self.text[*self.line_starts.last().unwrap_or(&0)..];
        Pos::new(line, last.chars().count() as u32 + 1)
    }
}
