//! Roles and token scopes. Each is ordered from least to most privileged.

use serde::{Deserialize, Serialize};
use std::fmt;
use utoipa::ToSchema;

/// Platform-wide role of a user.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum PlatformRole {
    /// Signs in, creates projects, works in the projects they are a member of.
    User,
    /// Everything, in every project; manages users, clusters and reads the audit log.
    Admin,
}

/// Role of a user within one project.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum ProjectRole {
    /// Reads the project's resources.
    Viewer,
    /// Also edits datasources and jobs, runs and operates jobs.
    Developer,
    /// Also edits and deletes the project and manages its members.
    Owner,
}

/// What a personal access token may be used for. A request passes when the token holds the
/// scope its route needs *and* the user's roles allow it; browser sessions hold every scope.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Read resources.
    Read,
    /// Create, change and delete resources.
    Write,
    /// Run and operate jobs: submit, cancel, preview, connection tests.
    Operate,
    /// Administration (users, audit log) and the caller's own account and tokens.
    Admin,
}

macro_rules! names {
    ($t:ty, $($v:ident => $s:literal),+ $(,)?) => {
        impl $t {
            /// Every value, least privileged first.
            pub const ALL: &'static [$t] = &[$(<$t>::$v),+];

            /// Lower-case name, as in the API.
            pub fn as_str(self) -> &'static str {
                match self { $(<$t>::$v => $s),+ }
            }

            /// Parses the lower-case name; `None` when unknown.
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($s => Some(<$t>::$v),)+ _ => None }
            }
        }

        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

names!(PlatformRole, User => "user", Admin => "admin");
names!(ProjectRole, Viewer => "viewer", Developer => "developer", Owner => "owner");
names!(Scope, Read => "read", Write => "write", Operate => "operate", Admin => "admin");

/// A set of [`Scope`]s; stored as a comma-separated list (`"read,write"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ScopeSet(u8);

impl ScopeSet {
    /// Every scope (browser sessions).
    pub fn all() -> Self {
        Scope::ALL.iter().copied().collect()
    }

    /// True when `s` is in the set.
    pub fn contains(self, s: Scope) -> bool {
        self.0 & (1 << s as u8) != 0
    }

    /// True when the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The scopes in the set, in [`Scope::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Scope> {
        Scope::ALL
            .iter()
            .copied()
            .filter(move |s| self.contains(*s))
    }

    /// Parses a comma-separated list.
    ///
    /// # Errors
    /// The first unknown name, with the valid ones.
    pub fn parse(list: &str) -> Result<Self, String> {
        list.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                Scope::parse(s).ok_or_else(|| {
                    format!("unknown scope '{s}'; valid scopes: read, write, operate, admin")
                })
            })
            .collect()
    }
}

impl FromIterator<Scope> for ScopeSet {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Self {
        ScopeSet(iter.into_iter().fold(0, |m, s| m | (1 << s as u8)))
    }
}

impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.iter().map(Scope::as_str).collect();
        f.write_str(&names.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_sets_round_trip_and_reject_unknown_names() {
        let s = ScopeSet::parse("write, read").unwrap();
        assert!(s.contains(Scope::Read) && s.contains(Scope::Write));
        assert!(!s.contains(Scope::Admin));
        assert_eq!(s.to_string(), "read,write");
        assert_eq!(
            ScopeSet::parse(&ScopeSet::all().to_string()).unwrap(),
            ScopeSet::all()
        );
        assert!(ScopeSet::parse("read,sudo").unwrap_err().contains("'sudo'"));
        assert!(
            ProjectRole::Owner > ProjectRole::Developer
                && ProjectRole::Developer > ProjectRole::Viewer
        );
    }
}
