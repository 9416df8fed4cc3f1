//! Names users give things (projects, jobs, artifacts, datasources, clusters, tokens): one
//! rule, [`check`], applied by the validated [`Name`] type of request bodies and by the
//! services that take names from elsewhere (the CLI, query strings).

use crate::error::ApiError;
use serde::{Deserialize, Deserializer};
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

/// Longest name, in characters (Unicode scalar values).
pub const MAX_CHARS: usize = 200;

/// Why a name is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameError {
    /// A control character (`char`) at this 1-based character position.
    Control(char, usize),
    /// More than [`MAX_CHARS`] characters.
    TooLong,
    /// Empty or only whitespace.
    Blank,
}

impl std::fmt::Display for NameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NameError::Control(c, at) => write!(
                f,
                "must not contain control characters (U+{:04X} at character {at})",
                u32::from(*c)
            ),
            NameError::TooLong => write!(f, "is longer than {MAX_CHARS} characters"),
            NameError::Blank => write!(f, "must not be empty"),
        }
    }
}

/// Checks a name; returns it without leading and trailing whitespace. A name is at most
/// [`MAX_CHARS`] characters, not blank, and holds no control character (Unicode category Cc:
/// NUL, tab, line breaks, DEL, the C1 controls).
///
/// # Errors
/// The rule broken.
pub fn check(value: &str) -> Result<&str, NameError> {
    if let Some((at, c)) = value.chars().enumerate().find(|(_, c)| c.is_control()) {
        return Err(NameError::Control(c, at + 1));
    }
    if value.chars().count() > MAX_CHARS {
        return Err(NameError::TooLong);
    }
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(NameError::Blank);
    }
    Ok(trimmed)
}

/// [`check`] for the field `field`.
///
/// # Errors
/// 422 naming the field and the rule broken.
pub fn check_field<'a>(field: &str, value: &'a str) -> Result<&'a str, ApiError> {
    check(value).map_err(|why| ApiError::invalid(format!("'{field}' {why}")))
}

/// [`check`]'s rule as a JSON Schema / ECMA-262 pattern: no Cc character, and at least one
/// character that is not whitespace.
pub const PATTERN: &str = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$";

/// A name that passed [`check`] (trimmed). Deserializing anything else fails, so a request body
/// with a bad name is answered 422 naming the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name(String);

impl PartialSchema for Name {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(1))
            .max_length(Some(MAX_CHARS))
            .pattern(Some(PATTERN))
            .description(Some(
                "1-200 characters, not blank, no control characters (Unicode Cc); leading and \
                 trailing whitespace is removed.",
            ))
            .into()
    }
}

impl ToSchema for Name {}

impl Name {
    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        check(&raw)
            .map(|n| Name(n.to_owned()))
            .map_err(|why| serde::de::Error::custom(format_args!("the name {why}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_blank_and_long_names_are_refused() {
        for bad in [
            "a\0b",
            "x\ny",
            "tab\there",
            "del\u{7f}",
            "c1\u{85}",
            "",
            "   ",
        ] {
            assert!(check(bad).is_err(), "{bad:?} accepted");
        }
        assert!(check(&"é".repeat(201)).is_err());
        assert_eq!(check(&"é".repeat(200)).map(str::len), Ok(400));
        assert_eq!(check("  Sales 📈 ").unwrap(), "Sales 📈");
        let e = check_field("name", "a\0").unwrap_err();
        assert_eq!(e.status().as_u16(), 422);
        assert!(e.detail().contains("'name'") && e.detail().contains("U+0000"));
    }

    #[test]
    fn a_body_with_a_nul_in_a_name_does_not_deserialize() {
        let e = serde_json::from_str::<Name>("\"a\\u0000b\"").unwrap_err();
        assert!(e.to_string().contains("control characters"), "{e}");
        let n: Name = serde_json::from_str("\" ok \"").unwrap();
        assert_eq!(n.as_str(), "ok");
    }
}
