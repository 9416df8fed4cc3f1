-- Alert channels and rules of a project, the alerts they raised (one per rule and event key:
-- the unique key makes raising idempotent across restarts and servers) and their deliveries.
CREATE TABLE alert_channels (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    config TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (project_id, name)
);
CREATE TABLE alert_rules (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    job_id TEXT REFERENCES jobs (id) ON DELETE CASCADE,
    workflow_id TEXT REFERENCES workflows (id) ON DELETE CASCADE,
    threshold BIGINT,
    minutes BIGINT,
    channels TEXT NOT NULL,
    enabled BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (project_id, name)
);
CREATE TABLE alert_events (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    rule_id TEXT NOT NULL REFERENCES alert_rules (id) ON DELETE CASCADE,
    event_key TEXT NOT NULL,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    subject TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (rule_id, event_key)
);
CREATE INDEX alert_events_project_idx ON alert_events (project_id, created_at);
CREATE TABLE alert_deliveries (
    event_id TEXT NOT NULL REFERENCES alert_events (id) ON DELETE CASCADE,
    channel_id TEXT NOT NULL,
    channel_name TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_at BIGINT,
    claimed_at BIGINT,
    detail TEXT,
    sent_at BIGINT,
    PRIMARY KEY (event_id, channel_id)
);
CREATE INDEX alert_deliveries_due_idx ON alert_deliveries (state, next_attempt_at);
-- The alert loop reads recent state changes.
CREATE INDEX instance_states_at_idx ON instance_states (state, at);
