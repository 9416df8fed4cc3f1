-- Flink session clusters, the cluster a job runs on, Flink job ids of instances, savepoints.
CREATE TABLE clusters (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    rest_url TEXT NOT NULL,
    savepoint_dir TEXT,
    -- sealed (scaleph-secrets) Authorization header value, if the JobManager needs one
    auth_header TEXT,
    flink_version TEXT,
    health TEXT NOT NULL DEFAULT 'UNKNOWN',
    health_reason TEXT,
    health_since BIGINT,
    checked_at BIGINT,
    -- the SQL runner jar as uploaded to this cluster: Flink's jar id and the jar's SHA-256
    runner_jar_id TEXT,
    runner_digest TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CONSTRAINT clusters_name_key UNIQUE (name)
);

ALTER TABLE jobs ADD COLUMN cluster_id TEXT REFERENCES clusters (id);
ALTER TABLE job_instances ADD COLUMN cluster_id TEXT;
ALTER TABLE job_instances ADD COLUMN flink_job_id TEXT;
ALTER TABLE job_instances ADD COLUMN restored_from TEXT;
CREATE INDEX job_instances_cluster_idx ON job_instances (cluster_id, state);

CREATE TABLE savepoints (
    id TEXT PRIMARY KEY,
    job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    instance_id TEXT NOT NULL,
    cluster_id TEXT NOT NULL,
    trigger_kind TEXT NOT NULL,
    status TEXT NOT NULL,
    path TEXT,
    error TEXT,
    created_at BIGINT NOT NULL,
    completed_at BIGINT
);
CREATE INDEX savepoints_job_idx ON savepoints (job_id, created_at);
