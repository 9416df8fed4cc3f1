//! Option checking in Flink's manner.

use scaleph_sql::{Pos, SqlError, TableDef};
use std::collections::BTreeSet;

/// A table's options under validation. Every getter marks the key as known; [`Options::finish`]
/// rejects whatever was given but never asked for.
pub struct Options<'a> {
    def: &'a TableDef,
    known: BTreeSet<String>,
}

impl<'a> Options<'a> {
    /// Starts checking `def`'s options; `connector` is always known.
    pub fn new(def: &'a TableDef) -> Self {
        let mut known = BTreeSet::new();
        known.insert("connector".to_string());
        Self { def, known }
    }

    /// The table being checked.
    pub fn def(&self) -> &'a TableDef {
        self.def
    }

    /// Optional string option.
    pub fn get(&mut self, key: &str) -> Option<&'a str> {
        self.known.insert(key.to_string());
        self.def.option(key)
    }

    /// Required string option.
    ///
    /// # Errors
    /// `missing required option '<key>' for connector '<c>'` at the table name.
    pub fn required(&mut self, key: &str) -> Result<&'a str, SqlError> {
        self.get(key).ok_or_else(|| {
            SqlError::invalid(
                self.def.pos,
                format!(
                    "missing required option '{key}' for connector '{}' of table `{}`",
                    self.def.option("connector").unwrap_or_default(),
                    self.def.name
                ),
            )
        })
    }

    /// Position of option `key`.
    pub fn pos(&self, key: &str) -> Pos {
        self.def.option_pos(key)
    }

    /// Optional option parsed with `FromStr`.
    ///
    /// # Errors
    /// `option '<key>': cannot parse '<v>' as <what>`.
    pub fn parse<T: std::str::FromStr>(
        &mut self,
        key: &str,
        what: &str,
    ) -> Result<Option<T>, SqlError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v.trim().parse().map(Some).map_err(|_| {
                SqlError::invalid(
                    self.pos(key),
                    format!("option '{key}': cannot parse '{v}' as {what}"),
                )
            }),
        }
    }

    /// Optional boolean (`true` / `false`, case-insensitive).
    pub fn bool(&mut self, key: &str, default: bool) -> Result<bool, SqlError> {
        match self.get(key).map(|v| v.to_ascii_lowercase()) {
            None => Ok(default),
            Some(v) if v == "true" => Ok(true),
            Some(v) if v == "false" => Ok(false),
            Some(v) => Err(SqlError::invalid(
                self.pos(key),
                format!("option '{key}': expected true or false, found '{v}'"),
            )),
        }
    }

    /// Optional single character (for delimiters and quotes); `\t` is accepted for tab.
    pub fn char(&mut self, key: &str, default: u8) -> Result<u8, SqlError> {
        match self.get(key) {
            None => Ok(default),
            Some("\\t") => Ok(b'\t'),
            Some(v) if v.len() == 1 && v.is_ascii() => Ok(v.as_bytes()[0]),
            Some(v) => Err(SqlError::invalid(
                self.pos(key),
                format!("option '{key}': expected a single ASCII character, found '{v}'"),
            )),
        }
    }

    /// A Flink duration option (`500 ms`, `10s`, `1 min`, `2 h`, `1 d`; a bare number is ms) in
    /// milliseconds; `None` when absent.
    ///
    /// # Errors
    /// A value that is not a whole number with one of these units, at the option.
    pub fn duration_ms(&mut self, key: &str) -> Result<Option<i64>, SqlError> {
        let units: [(&[&str], i64); 5] = [
            (
                &["", "ms", "milli", "millis", "millisecond", "milliseconds"],
                1,
            ),
            (&["s", "sec", "secs", "second", "seconds"], 1000),
            (&["min", "mins", "minute", "minutes"], 60_000),
            (&["h", "hour", "hours"], 3_600_000),
            (&["d", "day", "days"], 86_400_000),
        ];
        Ok(self.with_unit(key, "a duration", &units)?.map(|v| v as i64))
    }

    /// A Flink memory-size option (`128mb`, `64 KB`, `1gb`, a bare number is bytes) in bytes;
    /// `None` when absent.
    ///
    /// # Errors
    /// A value that is not a whole number with one of these units, at the option.
    pub fn bytes(&mut self, key: &str) -> Result<Option<u64>, SqlError> {
        let units: [(&[&str], i64); 5] = [
            (&["", "b", "bytes"], 1),
            (&["k", "kb", "kibibytes"], 1 << 10),
            (&["m", "mb", "mebibytes"], 1 << 20),
            (&["g", "gb", "gibibytes"], 1 << 30),
            (&["t", "tb", "tebibytes"], 1 << 40),
        ];
        self.with_unit(key, "a memory size", &units)
    }

    /// A whole number followed by one of `units` (case-insensitive), times the unit's factor.
    fn with_unit(
        &mut self,
        key: &str,
        what: &str,
        units: &[(&[&str], i64)],
    ) -> Result<Option<u64>, SqlError> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        let v = v.trim();
        let (num, unit) = v.split_at(v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len()));
        let bad =
            |m: String| SqlError::invalid(self.pos(key), format!("option '{key}': {m} in '{v}'"));
        let n: u64 = num
            .parse()
            .map_err(|_| bad(format!("cannot parse {what}")))?;
        let unit = unit.trim().to_ascii_lowercase();
        let Some((_, mult)) = units
            .iter()
            .find(|(names, _)| names.contains(&unit.as_str()))
        else {
            return Err(bad(format!("unknown unit of {what}")));
        };
        n.checked_mul(*mult as u64)
            .filter(|v| *v <= i64::MAX as u64)
            .map(Some)
            .ok_or_else(|| bad(format!("{what} out of range")))
    }

    /// Accepts every key starting with `prefix` (options that do not change what is read or
    /// written, such as file rolling).
    pub fn allow_prefix(&mut self, prefix: &str) {
        for o in self
            .def
            .options
            .iter()
            .filter(|o| o.key.starts_with(prefix))
        {
            self.known.insert(o.key.clone());
        }
    }

    /// Rejects options no getter asked for.
    ///
    /// # Errors
    /// `unsupported option '<key>' for connector '<c>'` at that option.
    pub fn finish(self) -> Result<(), SqlError> {
        for o in &self.def.options {
            if !self.known.contains(&o.key) {
                return Err(SqlError::invalid(
                    o.pos,
                    format!(
                        "unsupported option '{}' for connector '{}' of table `{}`",
                        o.key,
                        self.def.option("connector").unwrap_or_default(),
                        self.def.name
                    ),
                ));
            }
        }
        Ok(())
    }
}
