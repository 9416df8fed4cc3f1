use std::fmt;

/// A 1-based position in a script: `line` and `column` (columns count characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, serde::Serialize)]
pub struct Pos {
    /// Line, starting at 1.
    pub line: u32,
    /// Column in characters, starting at 1.
    pub column: u32,
}

impl Pos {
    /// A position from 1-based line and column.
    pub fn new(line: u32, column: u32) -> Self {
        Self { line, column }
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// What class of problem a [`SqlError`] is; every kind is the script author's to fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SqlErrorKind {
    /// The text does not follow the grammar.
    Syntax,
    /// Valid Flink SQL that this engine does not run; the message starts with `unsupported: `.
    Unsupported,
    /// Well-formed but wrong: unknown table/column/connector, bad option, type mismatch.
    Invalid,
}

/// A problem in a SQL script, located at `pos`. Displayed as `line:column: message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[error("{pos}: {message}")]
pub struct SqlError {
    /// Class of the problem.
    pub kind: SqlErrorKind,
    /// Where in the script.
    pub pos: Pos,
    /// Human-readable description naming the offending construct.
    pub message: String,
}

impl SqlError {
    /// A syntax error.
    pub fn syntax(pos: Pos, message: impl Into<String>) -> Self {
        Self {
            kind: SqlErrorKind::Syntax,
            pos,
            message: message.into(),
        }
    }

    /// `unsupported: <construct>`.
    pub fn unsupported(pos: Pos, construct: impl fmt::Display) -> Self {
        Self {
            kind: SqlErrorKind::Unsupported,
            pos,
            message: format!("unsupported: {construct}"),
        }
    }

    /// A semantic error (unknown name, bad option, …).
    pub fn invalid(pos: Pos, message: impl Into<String>) -> Self {
        Self {
            kind: SqlErrorKind::Invalid,
            pos,
            message: message.into(),
        }
    }
}
