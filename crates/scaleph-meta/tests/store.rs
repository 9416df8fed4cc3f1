//! The same store behaviour on SQLite and on a real PostgreSQL server
//! (`SCALEPH_TEST_POSTGRES_URL`, provided by `scripts/test.sh`).

use scaleph_auth::{PlatformRole, ProjectRole, Scope, ScopeSet};
use scaleph_engine::{EngineKind, JobSettings, JobState, LogLevel, TableMetrics, TableRole};
use scaleph_meta::{
    AuditEntry, AuditFilter, NewJob, NewUser, PageRequest, Store, StoreError, UserPatch,
};
use serde_json::json;

const ALL: PageRequest = PageRequest {
    page: 1,
    page_size: 100,
};

async fn exercise(store: Store) {
    // Projects: unique names, paging, update, not found.
    let a = store.create_project("alpha", "first", None).await.unwrap();
    store.create_project("beta", "", None).await.unwrap();
    let e = store
        .create_project("alpha", "again", None)
        .await
        .unwrap_err();
    assert!(
        matches!(e, StoreError::Conflict(ref m) if m.contains("'alpha' already exists")),
        "{e:?}"
    );
    let page = store
        .list_projects(
            PageRequest {
                page: 2,
                page_size: 1,
            },
            None,
        )
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
            NewJob {
                name: "etl",
                engine: EngineKind::Embedded,
                cluster_id: None,
                settings: &settings,
                script: "SELECT 1",
                message: "init",
                jar: None,
                restart_policy: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(j.current_version, 1);
    assert_eq!(j.settings, settings);
    assert!(matches!(
        store
            .create_job(
                &a.id,
                NewJob {
                    name: "etl",
                    engine: EngineKind::Embedded,
                    cluster_id: None,
                    settings: &settings,
                    script: "x",
                    message: "",
                    jar: None,
                    restart_policy: None,
                },
            )
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
        .create_instance(&j.id, 3, EngineKind::Embedded, None, None)
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
    access(&store).await;
    alerts(&store).await;
}

/// Alerts: raised once per key, deliveries claimed once, history pruned by age.
async fn alerts(store: &Store) {
    let p = store.create_project("alerting", "", None).await.unwrap();
    let mut config = serde_json::Map::new();
    config.insert("url".into(), "http://127.0.0.1:9/h".into());
    let c = store
        .create_alert_channel(&p.id, "hook", "webhook", &config, "u")
        .await
        .unwrap();
    let rule = store
        .create_alert_rule(
            &p.id,
            &scaleph_meta::RuleFields {
                name: "r".into(),
                kind: "instance_failed".into(),
                channels: vec![c.id.clone()],
                enabled: true,
                ..Default::default()
            },
            "u",
        )
        .await
        .unwrap();
    let a = scaleph_meta::NewAlert {
        event_key: "instance:x:3".into(),
        kind: "instance_failed".into(),
        title: "t".into(),
        body: "b".into(),
        subject: serde_json::json!({}),
    };
    let chans = [(c.id.clone(), c.name.clone())];
    assert!(store.raise_alert(&rule, &a, &chans).await.unwrap());
    assert!(
        !store.raise_alert(&rule, &a, &chans).await.unwrap(),
        "raised once"
    );
    let due = store.due_deliveries(60_000).await.unwrap();
    assert_eq!(due.len(), 1);
    assert!(store.claim_delivery(&due[0], 60_000).await.unwrap());
    assert!(
        !store.claim_delivery(&due[0], 60_000).await.unwrap(),
        "claimed once"
    );
    let now = chrono::Utc::now().timestamp_millis();
    assert_eq!(store.prune_history(now - 60_000).await.unwrap(), 0);
    assert_eq!(store.list_alerts(&p.id, 10).await.unwrap().len(), 1);
    assert_eq!(store.prune_history(now + 60_000).await.unwrap(), 2);
    assert!(store.list_alerts(&p.id, 10).await.unwrap().is_empty());
    assert!(matches!(
        store.delete_alert_channel(&p.id, &c.id).await,
        Err(StoreError::Conflict(_))
    ));
}

/// Users, membership, sessions, tokens and the audit log.
async fn access(store: &Store) {
    let new = |name: &'static str, role| NewUser {
        username: name,
        display_name: "",
        email: "",
        role,
        password_hash: "$argon2id$stub",
    };
    assert_eq!(store.count_users().await.unwrap(), 0);
    let ann = store
        .create_user(new("ann", PlatformRole::User))
        .await
        .unwrap();
    let bob = store
        .create_user(new("bob", PlatformRole::User))
        .await
        .unwrap();
    assert!(matches!(
        store.create_user(new("ann", PlatformRole::Admin)).await,
        Err(StoreError::Conflict(ref m)) if m.contains("'ann'")
    ));
    let (u, hash) = store.user_for_login("ann").await.unwrap().unwrap();
    assert_eq!(
        (u.id.as_str(), hash.as_str()),
        (ann.id.as_str(), "$argon2id$stub")
    );
    assert!(store.user_for_login("nobody").await.unwrap().is_none());

    // A project created with an owner is visible to its members only.
    let p = store
        .create_project("owned", "", Some(&ann.id))
        .await
        .unwrap();
    store.create_project("other", "", None).await.unwrap();
    let visible = |uid: String| async move {
        store
            .list_projects(ALL, Some(&uid))
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|p| p.name)
            .collect::<Vec<_>>()
    };
    assert_eq!(visible(ann.id.clone()).await, ["owned"]);
    assert!(visible(bob.id.clone()).await.is_empty());
    assert_eq!(store.list_projects(ALL, None).await.unwrap().total, 3);
    assert_eq!(
        store.member_role(&p.id, &ann.id).await.unwrap(),
        Some(ProjectRole::Owner)
    );
    store
        .set_member(&p.id, &bob.id, ProjectRole::Viewer)
        .await
        .unwrap();
    assert_eq!(visible(bob.id.clone()).await, ["owned"]);
    // The last owner cannot be demoted or removed; with a second owner they can.
    assert!(matches!(
        store
            .set_member(&p.id, &ann.id, ProjectRole::Developer)
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store.remove_member(&p.id, &ann.id).await,
        Err(StoreError::Conflict(_))
    ));
    store
        .set_member(&p.id, &bob.id, ProjectRole::Owner)
        .await
        .unwrap();
    store.remove_member(&p.id, &ann.id).await.unwrap();
    assert_eq!(store.list_members(&p.id).await.unwrap().len(), 1);
    assert!(matches!(
        store.remove_member(&p.id, &ann.id).await,
        Err(StoreError::NotFound(_))
    ));

    // Sessions: found until deleted, expired ones not at all; a password change ends them.
    let later = chrono::Utc::now().timestamp_millis() + 60_000;
    store
        .create_session("d1", &ann.id, "csrf1", later)
        .await
        .unwrap();
    store
        .create_session("old", &ann.id, "csrf0", 1)
        .await
        .unwrap();
    assert_eq!(
        store.session("d1").await.unwrap().unwrap().csrf_token,
        "csrf1"
    );
    assert!(store.session("old").await.unwrap().is_none());
    store.set_password(&ann.id, "$argon2id$new").await.unwrap();
    assert!(store.session("d1").await.unwrap().is_none());
    store
        .create_session("d2", &ann.id, "csrf2", later)
        .await
        .unwrap();
    let off = UserPatch {
        enabled: Some(false),
        ..Default::default()
    };
    assert!(!store.update_user(&ann.id, &off).await.unwrap().enabled);
    assert!(
        store.session("d2").await.unwrap().is_none(),
        "disabling ends sessions"
    );

    // Tokens: stored by digest, revocation is per owner.
    let scopes = ScopeSet::parse("read,operate").unwrap();
    let t = store
        .create_token(&bob.id, "ci", "digest-1", "sph_abcd", scopes, Some(later))
        .await
        .unwrap();
    assert_eq!(t.scopes, [Scope::Read, Scope::Operate]);
    let (found, owner) = store.token_by_digest("digest-1").await.unwrap().unwrap();
    assert_eq!(
        (found.id.as_str(), owner.username.as_str()),
        (t.id.as_str(), "bob")
    );
    store.touch_token(&t.id, 42).await.unwrap();
    assert!(matches!(
        store.revoke_token(&ann.id, &t.id).await,
        Err(StoreError::NotFound(_))
    ));
    let r = store.revoke_token(&bob.id, &t.id).await.unwrap();
    assert!(r.revoked_at.is_some() && r.last_used_at == Some(42));
    assert_eq!(store.list_tokens(&bob.id).await.unwrap().len(), 1);

    // Audit log: filters and paging, newest first.
    for (i, (actor, action, outcome)) in [
        ("ann", "datasource.create", "success"),
        ("bob", "datasource.delete", "denied"),
        ("bob", "job.submit", "success"),
        ("bob", "job_submit", "success"),
    ]
    .into_iter()
    .enumerate()
    {
        store
            .record_audit(AuditEntry {
                id: String::new(),
                at: 1000 + i as i64,
                actor_id: None,
                actor: actor.into(),
                action: action.into(),
                target_type: "Datasource".into(),
                target: format!("/api/v1/projects/p/datasources/d{i}"),
                outcome: outcome.into(),
                status: 200,
                source_ip: "127.0.0.1".into(),
                detail: String::new(),
            })
            .await
            .unwrap();
    }
    let q = |f: AuditFilter| async move { store.list_audit(&f, ALL).await.unwrap() };
    let all = q(AuditFilter::default()).await;
    assert_eq!(all.total, 4);
    assert_eq!(all.items[0].action, "job_submit", "newest first");
    let bobs = q(AuditFilter {
        actor: Some("bob".into()),
        ..Default::default()
    })
    .await;
    assert_eq!(bobs.total, 3);
    let ds = q(AuditFilter {
        action: Some("datasource.".into()),
        ..Default::default()
    })
    .await;
    assert_eq!(ds.total, 2);
    // '_' is literal, not a LIKE wildcard.
    let exact = q(AuditFilter {
        action: Some("job.submit".into()),
        ..Default::default()
    })
    .await;
    assert_eq!(exact.total, 1);
    let f = AuditFilter {
        outcome: Some("success".into()),
        target: Some("/d0".into()),
        since: Some(1000),
        until: Some(1001),
        ..Default::default()
    };
    assert_eq!(q(f).await.items[0].actor, "ann");
    let page2 = store
        .list_audit(
            &AuditFilter::default(),
            PageRequest {
                page: 2,
                page_size: 3,
            },
        )
        .await
        .unwrap();
    assert_eq!((page2.total, page2.items.len()), (4, 1));
}

#[tokio::test]
async fn sqlite_store() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("meta.db").display());
    exercise(Store::connect(&url).await.unwrap()).await;
    // Migrations are idempotent: reopening the same file works.
    Store::connect(&url).await.unwrap();
}

/// Many concurrent read-then-write transactions and reads on one SQLite file, through two
/// handles (as a server and a CLI command opened on the same data dir): none fails with
/// SQLITE_BUSY and every write lands.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_concurrent_writers_and_readers() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("meta.db").display());
    let a = Store::connect(&url).await.unwrap();
    let b = Store::connect(&url).await.unwrap();
    let p = a.create_project("load", "", None).await.unwrap();
    let mut tasks = Vec::new();
    for w in 0..20 {
        let store = if w % 2 == 0 { a.clone() } else { b.clone() };
        let pid = p.id.clone();
        tasks.push(tokio::spawn(async move {
            let settings = JobSettings::default();
            let job = store
                .create_job(
                    &pid,
                    NewJob {
                        name: &format!("w{w}"),
                        engine: EngineKind::Embedded,
                        cluster_id: None,
                        settings: &settings,
                        script: "SELECT 1",
                        message: "v1",
                        jar: None,
                        restart_policy: None,
                    },
                )
                .await
                .unwrap();
            for v in 2..=6 {
                let saved = store.save_version(&pid, &job.id, "SELECT 2", "next").await;
                assert_eq!(saved.unwrap().version, v);
                store
                    .list_jobs(
                        &pid,
                        PageRequest {
                            page: 1,
                            page_size: 50,
                        },
                    )
                    .await
                    .unwrap();
            }
            let i = store
                .create_instance(&job.id, 6, EngineKind::Embedded, None, None)
                .await
                .unwrap();
            for s in [
                JobState::Initializing,
                JobState::Running,
                JobState::Finished,
            ] {
                store.transition(&i.id, s, None, None).await.unwrap();
            }
            store
                .append_logs(&i.id, &[(LogLevel::Info, "done".into())])
                .await
                .unwrap();
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let jobs = b
        .list_jobs(
            &p.id,
            PageRequest {
                page: 1,
                page_size: 50,
            },
        )
        .await
        .unwrap();
    assert_eq!(jobs.total, 20);
    for j in &jobs.items {
        assert_eq!(j.current_version, 6);
        let insts = a
            .list_instances(
                &j.id,
                PageRequest {
                    page: 1,
                    page_size: 5,
                },
            )
            .await
            .unwrap();
        assert_eq!(insts.items[0].state, JobState::Finished);
    }
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
