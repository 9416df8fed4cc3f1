// A workflow run as a Gantt chart: one bar per task from its attempt's start to its end (or
// now), colored by state; a job task opens its instance's logs, a nested workflow task opens
// its child run's chart (a tree of runs).
import { useEffect, useState } from "react";
import { Link } from "react-router-dom";
import { Tag, Tooltip } from "antd";
import { useTranslation } from "react-i18next";
import { api } from "../api";

export const taskStateColors: Record<string, string> = {
  SUCCESS: "#52c41a", RUNNING: "#1677ff", FAILED: "#ff4d4f", RETRY_WAIT: "#faad14",
  UPSTREAM_FAILED: "#bfbfbf", CANCELED: "#8c8c8c", WAITING: "#d9d9d9", SKIPPED: "#d3adf7",
};

/** The logs of one job instance, newest last. */
function TaskLogs({ instanceId }: { instanceId: string }) {
  const [lines, setLines] = useState<any[]>();
  const [err, setErr] = useState<string>();
  useEffect(() => {
    api("GET", `/api/v1/instances/${instanceId}/logs`).then(setLines, (e) => setErr(e.message));
  }, [instanceId]);
  return (
    <pre data-testid={`task-logs-${instanceId}`} style={{ maxHeight: 200, overflow: "auto", background: "#111", color: "#ddd", padding: 8, margin: "4px 0", fontSize: 12 }}>
      {err ?? (lines ?? []).map((l) => `${new Date(l.at).toISOString().slice(11, 23)} ${l.level} ${l.line}`).join("\n")}
    </pre>
  );
}

/** The child run of a nested workflow task, fetched and drawn as its own chart. */
function ChildRun({ pid, workflowId, runId, depth }: { pid: string; workflowId: string; runId: string; depth: number }) {
  const [run, setRun] = useState<any>();
  useEffect(() => {
    api("GET", `/api/v1/projects/${pid}/workflows/${workflowId}/runs/${runId}`).then(setRun, () => setRun(null));
  }, [pid, workflowId, runId]);
  if (!run) return null;
  return (
    <div style={{ marginLeft: 16, borderLeft: "2px solid #eee", paddingLeft: 8 }}>
      <RunGantt pid={pid} run={run} depth={depth + 1} />
    </div>
  );
}

/** The Gantt chart of `run` (its tasks in definition order). */
export function RunGantt({ pid, run, depth = 0 }: { pid: string; run: any; depth?: number }) {
  const { t } = useTranslation();
  const [open, setOpen] = useState<string>();
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (run.state !== "RUNNING") return;
    const h = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(h);
  }, [run.state]);
  const defs = new Map<string, any>((run.definition?.tasks ?? []).map((d: any) => [d.key, d]));
  const t0 = run.created_at;
  const t1 = Math.max(run.ended_at ?? now, ...run.tasks.map((x: any) => x.ended_at ?? (x.started_at ? now : 0)), t0 + 1000);
  const pct = (ms: number) => `${(100 * (ms - t0)) / (t1 - t0)}%`;
  const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  return (
    <div data-testid={depth === 0 ? "gantt" : `gantt-${run.id}`} style={{ fontSize: 12 }}>
      <div style={{ color: "#888", marginBottom: 4 }}>
        {run.bizdate} · <Tag color={taskStateColors[run.state]}>{run.state}</Tag> {secs(t1 - t0)}
      </div>
      {run.tasks.map((x: any) => {
        const d = defs.get(x.task_key) ?? {};
        const start = x.started_at ?? null;
        const end = x.ended_at ?? (x.state === "RUNNING" || x.state === "RETRY_WAIT" ? now : start);
        const openable = x.instance_id || (x.child_run_id && d.workflow_id);
        return (
          <div key={x.task_key}>
            <div style={{ display: "flex", alignItems: "center", height: 22 }}>
              <div style={{ width: 160, overflow: "hidden", textOverflow: "ellipsis", whiteSpace: "nowrap" }}>
                {openable ? (
                  <a onClick={() => setOpen(open === x.task_key ? undefined : x.task_key)} data-testid={`gantt-task-${x.task_key}`}>
                    {open === x.task_key ? "▾" : "▸"} {x.task_key}
                  </a>
                ) : (
                  <span>  {x.task_key}</span>
                )}
                {d.workflow_id ? " ⧉" : d.depends_on ? " ⏳" : ""}
              </div>
              <div style={{ position: "relative", flex: 1, height: 14, background: "#fafafa" }}>
                {start !== null && (
                  <Tooltip title={`${x.state}${x.attempt > 1 ? ` · ${t("retries")}: ${x.attempt - 1}` : ""} · ${secs((end ?? start) - start)}${x.reason ? ` · ${x.reason}` : ""}`}>
                    <div
                      data-testid={`gantt-bar-${x.task_key}`}
                      style={{
                        position: "absolute", left: pct(start), width: `max(3px, calc(${pct(end ?? start)} - ${pct(start)}))`,
                        top: 0, bottom: 0, background: taskStateColors[x.state] ?? "#999", borderRadius: 2,
                      }}
                    />
                  </Tooltip>
                )}
              </div>
              <div style={{ width: 150, paddingLeft: 8 }}>
                <Tag color={taskStateColors[x.state]} style={{ fontSize: 11 }}>{x.state}</Tag>
                {x.instance_id && <Link to={`/projects/${pid}/jobs/${x.job_id}/instances/${x.instance_id}`}>↗</Link>}
              </div>
            </div>
            {open === x.task_key && x.instance_id && !d.workflow_id && <TaskLogs instanceId={x.instance_id} />}
            {open === x.task_key && x.child_run_id && d.workflow_id && depth < 5 && (
              <ChildRun pid={pid} workflowId={d.workflow_id} runId={x.child_run_id} depth={depth} />
            )}
          </div>
        );
      })}
    </div>
  );
}
