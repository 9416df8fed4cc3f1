-- Portable across SQLite and PostgreSQL: TEXT ids, BIGINT numbers and epoch-millisecond times.
CREATE TABLE projects (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CONSTRAINT projects_name_key UNIQUE (name)
);

CREATE TABLE datasources (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    properties TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CONSTRAINT datasources_project_name_key UNIQUE (project_id, name)
);

CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    engine TEXT NOT NULL,
    settings TEXT NOT NULL,
    current_version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CONSTRAINT jobs_project_name_key UNIQUE (project_id, name)
);

CREATE TABLE job_versions (
    job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    version BIGINT NOT NULL,
    script TEXT NOT NULL,
    message TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    PRIMARY KEY (job_id, version)
);

CREATE TABLE job_instances (
    id TEXT PRIMARY KEY,
    job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    version BIGINT NOT NULL,
    engine TEXT NOT NULL,
    state TEXT NOT NULL,
    error TEXT,
    created_at BIGINT NOT NULL,
    started_at BIGINT,
    ended_at BIGINT
);
CREATE INDEX job_instances_job_idx ON job_instances (job_id, created_at);
CREATE INDEX job_instances_state_idx ON job_instances (state);

CREATE TABLE instance_states (
    instance_id TEXT NOT NULL REFERENCES job_instances (id) ON DELETE CASCADE,
    seq BIGINT NOT NULL,
    state TEXT NOT NULL,
    at BIGINT NOT NULL,
    reason TEXT,
    PRIMARY KEY (instance_id, seq)
);

CREATE TABLE instance_metrics (
    instance_id TEXT NOT NULL REFERENCES job_instances (id) ON DELETE CASCADE,
    table_name TEXT NOT NULL,
    role TEXT NOT NULL,
    rows_count BIGINT NOT NULL,
    bytes BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (instance_id, table_name, role)
);

CREATE TABLE instance_logs (
    instance_id TEXT NOT NULL REFERENCES job_instances (id) ON DELETE CASCADE,
    seq BIGINT NOT NULL,
    at BIGINT NOT NULL,
    level TEXT NOT NULL,
    line TEXT NOT NULL,
    PRIMARY KEY (instance_id, seq)
);
