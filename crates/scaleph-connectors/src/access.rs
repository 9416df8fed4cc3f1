//! Which local paths file-based connectors may touch.
//!
//! A path named in SQL (or a filesystem datasource) is resolved the way the kernel would —
//! relative paths against the first allowed root, `.`/`..` applied, every existing symlink
//! followed — and then must lie inside one of the admin's allowed roots and outside the
//! protected directories (the server's data dir, except its `files/` area). Paths that do not
//! exist yet (a sink's target) are resolved up to their deepest existing ancestor; the rest
//! cannot be a symlink, so it is applied lexically.

use std::fmt;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

/// The file-access policy of one server (or none, for the local CLI).
///
/// Cheap to clone. Built once at start-up from `--allowed-path` and the data dir.
#[derive(Debug, Clone)]
pub struct FileAccess {
    inner: Arc<Policy>,
}

#[derive(Debug)]
enum Policy {
    /// Every path the process can reach (the local `scaleph sql` CLI, tests of the engine).
    Unrestricted,
    Roots {
        /// Canonical allowed roots, in the order given; the first resolves relative paths.
        roots: Vec<PathBuf>,
        /// Canonical protected directories with the sub-directories exempted from them.
        protected: Vec<(PathBuf, Vec<PathBuf>)>,
        /// Where sinks note their staging directories so a restart can remove leftovers.
        journal: Option<PathBuf>,
    },
}

/// How a path was going to be used: reading needs the path inside a root; writing also needs
/// it strictly below the root (a sink replaces its directory, and stages beside it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// A source, a datasource listing.
    Read,
    /// A sink.
    Write,
}

/// A refused path: the path as resolved and the rule it breaks. Displays as a sentence that
/// names both, for a 422 problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessDenied {
    /// The path as given.
    pub given: String,
    /// The path after resolution (absolute, symlinks followed).
    pub resolved: PathBuf,
    /// Which rule refused it.
    pub rule: DenyRule,
}

/// The rule that refused a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DenyRule {
    /// Not inside any allowed root; carries the roots.
    OutsideRoots(Vec<PathBuf>),
    /// Inside a directory the server keeps for itself.
    Protected(PathBuf),
    /// A sink whose path is an allowed root itself.
    RootAsSink(PathBuf),
    /// The path could not be resolved (an unreadable ancestor, a symlink loop).
    Unresolvable(String),
}

impl fmt::Display for AccessDenied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let given = &self.given;
        let resolved = self.resolved.display();
        match &self.rule {
            DenyRule::OutsideRoots(roots) => {
                let roots: Vec<String> = roots.iter().map(|r| r.display().to_string()).collect();
                write!(
                    f,
                    "path '{given}' (resolved to '{resolved}') is outside the allowed paths [{}]; an admin allows more with --allowed-path",
                    roots.join(", ")
                )
            }
            DenyRule::Protected(dir) => write!(
                f,
                "path '{given}' (resolved to '{resolved}') is inside '{}', which the server keeps for its own files",
                dir.display()
            ),
            DenyRule::RootAsSink(root) => write!(
                f,
                "path '{given}' is the allowed root '{}' itself; a sink must write to a directory inside it",
                root.display()
            ),
            DenyRule::Unresolvable(why) => {
                write!(f, "path '{given}' cannot be resolved: {why}")
            }
        }
    }
}

impl std::error::Error for AccessDenied {}

impl Default for FileAccess {
    fn default() -> Self {
        Self::unrestricted()
    }
}

impl FileAccess {
    /// No restriction: for the local CLI, where SQL runs with the user's own rights.
    pub fn unrestricted() -> Self {
        Self {
            inner: Arc::new(Policy::Unrestricted),
        }
    }

    /// Paths inside `roots` only, never inside `data_dir` except `data_dir/files`.
    ///
    /// Creates missing roots (and `data_dir/files`), then canonicalises them. Sinks record their
    /// staging directories under `data_dir/staging-journal` (see [`FileAccess::journal`]).
    ///
    /// # Errors
    /// I/O errors creating or canonicalising a root.
    pub fn restricted(roots: &[PathBuf], data_dir: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(data_dir)?;
        let data_dir = std::fs::canonicalize(data_dir)?;
        let files = data_dir.join("files");
        std::fs::create_dir_all(&files)?;
        let mut canon = Vec::with_capacity(roots.len());
        for r in roots {
            std::fs::create_dir_all(r)?;
            let c = std::fs::canonicalize(r)?;
            if !canon.contains(&c) {
                canon.push(c);
            }
        }
        let journal = data_dir.join("staging-journal");
        std::fs::create_dir_all(&journal)?;
        Ok(Self {
            inner: Arc::new(Policy::Roots {
                roots: canon,
                protected: vec![(data_dir, vec![files])],
                journal: Some(journal),
            }),
        })
    }

    /// The allowed roots (empty when unrestricted).
    pub fn roots(&self) -> &[PathBuf] {
        match &*self.inner {
            Policy::Unrestricted => &[],
            Policy::Roots { roots, .. } => roots,
        }
    }

    /// The directory where sinks note their staging directories, if the policy keeps one.
    pub fn journal(&self) -> Option<&Path> {
        match &*self.inner {
            Policy::Unrestricted => None,
            Policy::Roots { journal, .. } => journal.as_deref(),
        }
    }

    /// Resolves `given` and checks it for `usage`; returns the absolute, resolved path to use.
    ///
    /// # Errors
    /// [`AccessDenied`] naming the resolved path and the rule.
    pub fn check(&self, given: &str, usage: Use) -> Result<PathBuf, AccessDenied> {
        let (roots, protected) = match &*self.inner {
            Policy::Unrestricted => return Ok(PathBuf::from(given)),
            Policy::Roots {
                roots, protected, ..
            } => (roots, protected),
        };
        let deny = |resolved: PathBuf, rule| AccessDenied {
            given: given.to_string(),
            resolved,
            rule,
        };
        let p = Path::new(given);
        let base = match roots.first() {
            Some(r) if p.is_relative() => r.clone(),
            _ => PathBuf::from("/"),
        };
        let resolved = resolve(&base, p)
            .map_err(|e| deny(base.join(p), DenyRule::Unresolvable(e.to_string())))?;
        for (dir, exempt) in protected {
            if resolved.starts_with(dir) && !exempt.iter().any(|x| resolved.starts_with(x)) {
                return Err(deny(resolved, DenyRule::Protected(dir.clone())));
            }
        }
        let Some(root) = roots.iter().find(|r| resolved.starts_with(r)) else {
            return Err(deny(resolved, DenyRule::OutsideRoots(roots.clone())));
        };
        if usage == Use::Write && resolved == *root {
            return Err(deny(resolved.clone(), DenyRule::RootAsSink(root.clone())));
        }
        Ok(resolved)
    }
}

/// Marker in the names of sinks' staging directories (`.<table>.scaleph-staging-<uuid>`).
pub const STAGING_MARKER: &str = ".scaleph-staging-";

/// Notes `dir` in `journal`; returns the entry's path (None if it could not be written: the
/// write still goes on, only crash clean-up is lost for it).
pub(crate) fn journal_staging(journal: &Path, dir: &Path) -> Option<PathBuf> {
    let entry = journal.join(format!("{}.staging", uuid::Uuid::new_v4()));
    std::fs::write(&entry, dir.as_os_str().as_bytes()).ok()?;
    Some(entry)
}

impl FileAccess {
    /// Removes the staging directories that runs of a previous process left behind (it was
    /// killed before they committed or aborted), as listed in the journal. Call at start-up,
    /// before any run starts. Only directories whose name carries [`STAGING_MARKER`] and that
    /// lie inside an allowed root are removed. Returns how many directories were removed.
    pub fn sweep_staging(&self) -> usize {
        let Some(journal) = self.journal() else {
            return 0;
        };
        let Ok(rd) = std::fs::read_dir(journal) else {
            return 0;
        };
        let mut removed = 0;
        for e in rd.flatten() {
            let entry = e.path();
            if let Ok(bytes) = std::fs::read(&entry) {
                let dir = PathBuf::from(std::ffi::OsString::from_vec(bytes));
                let marked = dir
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().contains(STAGING_MARKER));
                let inside = self.roots().iter().any(|r| dir.starts_with(r));
                if marked && inside && std::fs::remove_dir_all(&dir).is_ok() {
                    removed += 1;
                }
            }
            let _ = std::fs::remove_file(&entry);
        }
        removed
    }
}

/// Most symlinks followed while resolving one path (Linux's own limit is 40).
const MAX_SYMLINKS: usize = 40;

/// `base.join(p)` with `.`/`..` applied and existing symlinks followed, component by component,
/// so that `..` after a symlink goes up from the symlink's target (as the kernel does).
fn resolve(base: &Path, p: &Path) -> std::io::Result<PathBuf> {
    let mut out = PathBuf::from("/");
    // Components still to apply, in reverse order (a stack), so a symlink's target can be
    // spliced in front of the rest.
    let mut todo: Vec<std::ffi::OsString> = Vec::new();
    push_components(&mut todo, &base.join(p));
    let mut links = 0usize;
    while let Some(c) = todo.pop() {
        match c.to_str() {
            Some("/") => out = PathBuf::from("/"),
            Some(".") => {}
            Some("..") => {
                out.pop();
            }
            _ => {
                let next = out.join(&c);
                match std::fs::symlink_metadata(&next) {
                    Ok(m) if m.file_type().is_symlink() => {
                        links += 1;
                        if links > MAX_SYMLINKS {
                            return Err(std::io::Error::other("too many levels of symbolic links"));
                        }
                        // A relative target is relative to the link's directory (`out`).
                        let target = std::fs::read_link(&next)?;
                        push_components(&mut todo, &target);
                        continue;
                    }
                    // Missing components cannot be symlinks: the rest applies lexically.
                    Ok(_) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => {}
                    Err(e) => return Err(e),
                }
                out = next;
            }
        }
    }
    Ok(out)
}

/// Pushes the components of `p` onto `todo` so that popping yields them in order; an absolute
/// `p` starts with a `/` marker that resets the path.
fn push_components(todo: &mut Vec<std::ffi::OsString>, p: &Path) {
    let comps: Vec<std::ffi::OsString> = p
        .components()
        .map(|c| match c {
            Component::RootDir | Component::Prefix(_) => "/".into(),
            Component::CurDir => ".".into(),
            Component::ParentDir => "..".into(),
            Component::Normal(n) => n.to_os_string(),
        })
        .collect();
    todo.extend(comps.into_iter().rev());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> (tempfile::TempDir, FileAccess, PathBuf) {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        let outside = tmp.path().join("outside");
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("secret.txt"), "x").unwrap();
        let fa = FileAccess::restricted(&[data.join("files")], &data).unwrap();
        let root = std::fs::canonicalize(data.join("files")).unwrap();
        (tmp, fa, root)
    }

    #[test]
    fn inside_and_relative_paths_resolve_under_the_root() {
        let (_t, fa, root) = policy();
        assert_eq!(
            fa.check("a/b.csv", Use::Read).unwrap(),
            root.join("a/b.csv")
        );
        let abs = root.join("x/./y/../z");
        assert_eq!(
            fa.check(abs.to_str().unwrap(), Use::Write).unwrap(),
            root.join("x/z")
        );
    }

    #[test]
    fn escapes_are_refused() {
        let (t, fa, root) = policy();
        for p in [
            "/etc/passwd",
            "../secret.key",
            "../../outside/secret.txt",
            "/",
        ] {
            let e = fa.check(p, Use::Read).unwrap_err();
            assert!(
                matches!(e.rule, DenyRule::OutsideRoots(_) | DenyRule::Protected(_)),
                "{p}: {e}"
            );
        }
        // The data dir's own files are protected even when the data dir is an allowed root.
        let data = t.path().join("data");
        std::fs::write(data.join("secret.key"), "k").unwrap();
        let fa2 = FileAccess::restricted(std::slice::from_ref(&data), &data).unwrap();
        let e = fa2
            .check(data.join("secret.key").to_str().unwrap(), Use::Read)
            .unwrap_err();
        assert!(matches!(e.rule, DenyRule::Protected(_)), "{e}");
        assert!(fa2
            .check(data.join("files/a.csv").to_str().unwrap(), Use::Read)
            .is_ok());
        // A sink cannot be the root itself.
        let e = fa.check(root.to_str().unwrap(), Use::Write).unwrap_err();
        assert!(matches!(e.rule, DenyRule::RootAsSink(_)), "{e}");
        assert!(fa.check(root.to_str().unwrap(), Use::Read).is_ok());
    }

    #[test]
    fn symlinks_are_followed_before_the_check() {
        let (t, fa, root) = policy();
        let outside = t.path().join("outside");
        std::os::unix::fs::symlink(&outside, root.join("link")).unwrap();
        let e = fa.check("link/secret.txt", Use::Read).unwrap_err();
        assert!(matches!(e.rule, DenyRule::OutsideRoots(_)), "{e}");
        assert!(e.to_string().contains("outside"), "{e}");
        // `..` after a symlink goes up from its target, as the kernel does.
        std::fs::create_dir_all(root.join("real/sub")).unwrap();
        std::os::unix::fs::symlink(root.join("real/sub"), root.join("s")).unwrap();
        assert_eq!(fa.check("s/../f", Use::Read).unwrap(), root.join("real/f"));
        // A loop is refused, not followed forever.
        std::os::unix::fs::symlink(root.join("loop"), root.join("loop")).unwrap();
        let e = fa.check("loop/x", Use::Read).unwrap_err();
        assert!(matches!(e.rule, DenyRule::Unresolvable(_)), "{e}");
    }

    #[test]
    fn unrestricted_passes_paths_through() {
        let fa = FileAccess::unrestricted();
        assert_eq!(
            fa.check("/etc/passwd", Use::Read).unwrap(),
            PathBuf::from("/etc/passwd")
        );
    }
}
