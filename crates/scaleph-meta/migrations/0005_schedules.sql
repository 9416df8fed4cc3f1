-- Schedules, backfills and workflows.

-- Workflows: a DAG of tasks (the definition, JSON), runs with a snapshot of it, task runs.
CREATE TABLE workflows (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    definition TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (project_id, name)
);
CREATE TABLE workflow_runs (
    id TEXT PRIMARY KEY,
    workflow_id TEXT NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    bizdate TEXT NOT NULL,
    definition TEXT NOT NULL,
    trigger_kind TEXT NOT NULL,
    cancelled BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    ended_at BIGINT
);
CREATE INDEX workflow_runs_state_idx ON workflow_runs (state);
CREATE INDEX workflow_runs_workflow_idx ON workflow_runs (workflow_id, created_at);
CREATE TABLE task_runs (
    run_id TEXT NOT NULL REFERENCES workflow_runs (id) ON DELETE CASCADE,
    task_key TEXT NOT NULL,
    seq BIGINT NOT NULL,
    job_id TEXT NOT NULL,
    state TEXT NOT NULL,
    attempt BIGINT NOT NULL,
    instance_id TEXT,
    started_at BIGINT,
    ended_at BIGINT,
    next_attempt_at BIGINT,
    timed_out BIGINT NOT NULL,
    reason TEXT,
    PRIMARY KEY (run_id, task_key)
);

-- Cron schedules of a job or a workflow, their fires (claimed once: the primary key), and what
-- a job run was started with (business date, parameters, the effective script).
CREATE TABLE schedules (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    job_id TEXT UNIQUE REFERENCES jobs (id) ON DELETE CASCADE,
    workflow_id TEXT UNIQUE REFERENCES workflows (id) ON DELETE CASCADE,
    cron TEXT NOT NULL,
    timezone TEXT NOT NULL,
    start_at BIGINT,
    end_at BIGINT,
    paused BIGINT NOT NULL,
    misfire TEXT NOT NULL,
    overlap TEXT NOT NULL,
    params TEXT NOT NULL,
    next_fire_at BIGINT,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX schedules_due_idx ON schedules (paused, next_fire_at);

CREATE TABLE schedule_fires (
    schedule_id TEXT NOT NULL REFERENCES schedules (id) ON DELETE CASCADE,
    fire_at BIGINT NOT NULL,
    bizdate TEXT NOT NULL,
    state TEXT NOT NULL,
    instance_id TEXT,
    reason TEXT,
    claimed_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (schedule_id, fire_at)
);
CREATE INDEX schedule_fires_state_idx ON schedule_fires (state, fire_at);

CREATE TABLE run_params (
    instance_id TEXT PRIMARY KEY REFERENCES job_instances (id) ON DELETE CASCADE,
    bizdate TEXT NOT NULL,
    params TEXT NOT NULL,
    script TEXT NOT NULL,
    schedule_id TEXT,
    fire_at BIGINT
);

-- Backfills: runs of a job or a workflow for a range of business dates, at most `parallelism`
-- at a time.
CREATE TABLE backfills (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    job_id TEXT REFERENCES jobs (id) ON DELETE CASCADE,
    workflow_id TEXT REFERENCES workflows (id) ON DELETE CASCADE,
    timezone TEXT NOT NULL,
    parallelism BIGINT NOT NULL,
    params TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE backfill_runs (
    backfill_id TEXT NOT NULL REFERENCES backfills (id) ON DELETE CASCADE,
    seq BIGINT NOT NULL,
    bizdate TEXT NOT NULL,
    state TEXT NOT NULL,
    instance_id TEXT,
    reason TEXT,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (backfill_id, seq)
);
CREATE INDEX backfill_runs_state_idx ON backfill_runs (state);
