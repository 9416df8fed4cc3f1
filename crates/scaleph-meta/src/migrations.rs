//! The schema migrations (`migrations/NNNN_name.sql`), compiled into the binary.
//!
//! Listed by hand instead of through `sqlx::migrate!` so the build needs no sqlx proc-macro
//! (which compiles every database driver, SQLite's C source included, a second time for the
//! host). Checksums are SHA-384 of the file text, as `sqlx::migrate!` computes them, so stores
//! migrated by earlier builds stay valid. A test keeps this list equal to the directory.

use futures::future::BoxFuture;
use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};

/// (version, description, SQL) of every migration, in order. Never edit an applied one.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("../migrations/0001_init.sql")),
    (2, "auth", include_str!("../migrations/0002_auth.sql")),
    (3, "flink", include_str!("../migrations/0003_flink.sql")),
    (
        4,
        "jar jobs restart",
        include_str!("../migrations/0004_jar_jobs_restart.sql"),
    ),
    (
        5,
        "schedules",
        include_str!("../migrations/0005_schedules.sql"),
    ),
    (6, "alerts", include_str!("../migrations/0006_alerts.sql")),
    (
        7,
        "nested workflows",
        include_str!("../migrations/0007_nested_workflows.sql"),
    ),
];

/// The embedded migrations as a sqlx [`MigrationSource`].
#[derive(Debug)]
struct Embedded;

impl<'s> MigrationSource<'s> for Embedded {
    fn resolve(self) -> BoxFuture<'s, Result<Vec<Migration>, BoxDynError>> {
        Box::pin(async {
            Ok(MIGRATIONS
                .iter()
                .map(|(version, description, sql)| {
                    Migration::new(
                        *version,
                        (*description).into(),
                        MigrationType::Simple,
                        (*sql).into(),
                        false,
                    )
                })
                .collect())
        })
    }
}

/// The migrator over [`MIGRATIONS`].
///
/// # Errors
/// None in practice: the embedded source cannot fail to resolve.
pub(crate) async fn migrator() -> Result<Migrator, sqlx::migrate::MigrateError> {
    Migrator::new(Embedded).await
}

#[cfg(test)]
mod tests {
    use super::MIGRATIONS;

    #[test]
    fn list_matches_the_migrations_directory() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        files.sort();
        assert_eq!(files.len(), MIGRATIONS.len(), "{files:?}");
        for (f, (version, description, sql)) in files.iter().zip(MIGRATIONS) {
            let (num, rest) = f.split_once('_').unwrap();
            assert_eq!(num.parse::<i64>().unwrap(), *version, "{f}");
            assert_eq!(
                rest.trim_end_matches(".sql").replace('_', " "),
                *description
            );
            assert_eq!(std::fs::read_to_string(dir.join(f)).unwrap(), *sql, "{f}");
        }
    }
}
