-- Jar artifacts, jar jobs, auto-restart policies and the restart chain of instances.
CREATE TABLE artifacts (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    version BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    size BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT artifacts_version_key UNIQUE (project_id, name, version)
);

-- JSON: {"artifact_id", "entry_class", "args"}; NULL for SQL jobs.
ALTER TABLE jobs ADD COLUMN jar_spec TEXT;
-- JSON: {"max_attempts", "window_minutes"}; NULL = no automatic restart.
ALTER TABLE jobs ADD COLUMN restart_policy TEXT;
-- The FAILED instance this one automatically restarts.
ALTER TABLE job_instances ADD COLUMN restart_of TEXT;
