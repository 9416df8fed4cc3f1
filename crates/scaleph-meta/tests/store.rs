//! The same store behaviour on SQLite and on a real PostgreSQL server
//! (`SCALEPH_TEST_POSTGRES_URL`, provided by `scripts/test.sh`).

use scaleph_engine::{EngineKind, JobSettings, JobState, LogLevel, TableMetrics, TableRole};
use scaleph_meta::{PageRequest, Store, StoreError};
use serde_json::json;

const ALL: PageRequest = PageRequest {
    page: 1,
    page_size: 100,
};

async fn exercise(store: Store) {
    // Projects: unique names, paging, update, not found.
    let a = store.create_project("alpha", "first").await.unwrap();
    store.create_project("beta", "").await.unwrap();
    let e = store.create_project("alpha", "again").await.unwrap_err();
    assert!(
        matches!(e, StoreError::Conflict(ref m) if m.contains("'alpha' already exists")),
        "{e:?}"
    );
    let page = store
        .list_projects(PageRequest {
            page: 2,
            page_size: 1,
        })
        .await
        .unwrap();
    assert_eq!((page.total, page.items[0].name.as_str()), (2, "beta"));
    let a2 = store
        .update_project(&a.id, None, Some("changed"))
        .await
        .unwrap();
    assert_eq!(
        (a2.name.as_str(), a2.description.as_str()),
        ("alpha", "changed")
    );
    assert!(matches!(
        store.get_project("nope").await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.update_project(&a.id, Some("beta"), None).await,
        Err(StoreError::Conflict(_))
    ));

    // Datasources.
    let props = json!({"path": "/tmp"}).as_object().unwrap().clone();
    let d = store
        .create_datasource(&a.id, "files", "filesystem", &props)
        .await
        .unwrap();
    assert!(matches!(
        store
            .create_datasource(&a.id, "files", "filesystem", &props)
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store.get_datasource(&a.id, &d.id).await.unwrap().properties,
        props
    );
    assert_eq!(store.list_datasources(&a.id, ALL).await.unwrap().total, 1);

    // Jobs and immutable versions.
    let settings = JobSettings {
        parallelism: Some(3),
        ..Default::default()
    };
    let j = store
        .create_job(
            &a.id,
            "etl",
            EngineKind::Embedded,
            &settings,
            "SELECT 1",
            "init",
        )
        .await
        .unwrap();
    assert_eq!(j.current_version, 1);
    assert_eq!(j.settings, settings);
    assert!(matches!(
        store
            .create_job(&a.id, "etl", EngineKind::Embedded, &settings, "x", "")
            .await,
        Err(StoreError::Conflict(_))
    ));
    let v2 = store
        .save_version(&a.id, &j.id, "SELECT 2", "second")
        .await
        .unwrap();
    let v3 = store
        .save_version(&a.id, &j.id, "SELECT 3", "third")
        .await
        .unwrap();
    assert_eq!((v2.version, v3.version), (2, 3));
    let versions = store.list_versions(&a.id, &j.id).await.unwrap();
    assert_eq!(
        versions.iter().map(|v| v.version).collect::<Vec<_>>(),
        vec![3, 2, 1]
    );
    assert_eq!(
        store.get_version(&j.id, 1).await.unwrap().script,
        "SELECT 1"
    );
    assert_eq!(
        store.get_job(&a.id, &j.id).await.unwrap().current_version,
        3
    );

    // Instances: state machine enforced, history kept.
    let i = store
        .create_instance(&j.id, 3, EngineKind::Embedded)
        .await
        .unwrap();
    assert_eq!(i.state, JobState::Created);
    let e = store
        .transition(&i.id, JobState::Running, None, None)
        .await
        .unwrap_err();
    assert!(
        matches!(e, StoreError::IllegalTransition(_)),
        "CREATED → RUNNING must be rejected"
    );
    store
        .transition(&i.id, JobState::Initializing, None, None)
        .await
        .unwrap();
    let r = store
        .transition(&i.id, JobState::Running, None, None)
        .await
        .unwrap();
    assert!(r.started_at.is_some());
    store
        .upsert_metrics(
            &i.id,
            &[TableMetrics {
                table: "t".into(),
                role: TableRole::Source,
                rows: 5,
                bytes: 50,
            }],
        )
        .await
        .unwrap();
    store
        .upsert_metrics(
            &i.id,
            &[TableMetrics {
                table: "t".into(),
                role: TableRole::Source,
                rows: 9,
                bytes: 90,
            }],
        )
        .await
        .unwrap();
    let last = store
        .append_logs(
            &i.id,
            &[
                (LogLevel::Info, "one".into()),
                (LogLevel::Stdout, "+I[1]".into()),
            ],
        )
        .await
        .unwrap();
    assert_eq!(last, 2);
    store
        .append_logs(&i.id, &[(LogLevel::Error, "three".into())])
        .await
        .unwrap();
    let logs = store.logs(&i.id, 1, 10).await.unwrap();
    assert_eq!(
        logs.iter()
            .map(|l| (l.seq, l.line.as_str()))
            .collect::<Vec<_>>(),
        vec![(2, "+I[1]"), (3, "three")]
    );
    assert_eq!(logs[0].level, LogLevel::Stdout);
    assert_eq!(
        store
            .unfinished_instances(EngineKind::Embedded)
            .await
            .unwrap(),
        vec![i.id.clone()]
    );
    let f = store
        .transition(
            &i.id,
            JobState::Failed,
            Some("platform restarted"),
            Some("boom"),
        )
        .await
        .unwrap();
    assert_eq!(
        (f.state, f.error.as_deref()),
        (JobState::Failed, Some("boom"))
    );
    assert!(f.ended_at.is_some());
    assert!(matches!(
        store.transition(&i.id, JobState::Running, None, None).await,
        Err(StoreError::IllegalTransition(_))
    ));
    let detail = store.instance_detail(&i.id).await.unwrap();
    let states: Vec<JobState> = detail.history.iter().map(|h| h.state).collect();
    assert_eq!(
        states,
        [
            JobState::Created,
            JobState::Initializing,
            JobState::Running,
            JobState::Failed
        ]
    );
    assert_eq!(
        detail.history[3].reason.as_deref(),
        Some("platform restarted")
    );
    assert_eq!((detail.metrics[0].rows, detail.metrics[0].bytes), (9, 90));
    assert!(store
        .unfinished_instances(EngineKind::Embedded)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(store.list_instances(&j.id, ALL).await.unwrap().total, 1);

    // Deleting a project cascades to everything in it.
    store.delete_project(&a.id).await.unwrap();
    assert!(matches!(
        store.get_job(&a.id, &j.id).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.get_instance(&i.id).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.delete_project(&a.id).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(store.ping().await);
}

#[tokio::test]
async fn sqlite_store() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("meta.db").display());
    exercise(Store::connect(&url).await.unwrap()).await;
    // Migrations are idempotent: reopening the same file works.
    Store::connect(&url).await.unwrap();
}

/// A fresh database on the test PostgreSQL server.
pub async fn fresh_postgres() -> String {
    let admin = std::env::var("SCALEPH_TEST_POSTGRES_URL")
        .expect("SCALEPH_TEST_POSTGRES_URL must point at a PostgreSQL server; run the tests with scripts/test.sh");
    sqlx::any::install_default_drivers();
    let name = format!("scaleph_test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin)
        .await
        .expect("connect to test PostgreSQL");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    let (base, _) = admin.rsplit_once('/').expect("URL with a database");
    format!("{base}/{name}")
}

#[tokio::test]
async fn postgres_store() {
    let url = fresh_postgres().await;
    let store = Store::connect(&url).await.unwrap();
    assert_eq!(store.backend(), scaleph_meta::Backend::Postgres);
    exercise(store).await;
    Store::connect(&url).await.unwrap();
}

#[tokio::test]
async fn unknown_database_url_is_rejected() {
    let e = Store::connect("mysql://u:secret@h/db").await.unwrap_err();
    assert!(e.to_string().contains("unsupported database URL"), "{e}");
    assert!(
        !e.to_string().contains("secret"),
        "credentials are not echoed: {e}"
    );
}
