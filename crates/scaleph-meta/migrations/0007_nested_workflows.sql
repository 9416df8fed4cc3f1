-- A workflow task may run another workflow: the child run of its current attempt.
ALTER TABLE task_runs ADD COLUMN child_run_id TEXT;
