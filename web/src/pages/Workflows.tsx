import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { Link, useNavigate, useParams } from "react-router-dom";
import { Alert, Button, Card, Col, Form, Input, InputNumber, List, Row, Select, Space, Table, Tag, Tooltip } from "antd";
import { useTranslation } from "react-i18next";
import {
  addEdge, applyEdgeChanges, applyNodeChanges, Background, Controls, Handle, MarkerType, Position, ReactFlow,
  type Connection, type Edge, type EdgeChange, type Node, type NodeChange, type NodeProps,
} from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import dagre from "@dagrejs/dagre";
import { api } from "../api";
import { useApi } from "../hooks";
import { BackfillButton } from "./Backfill";
import { RunGantt, taskStateColors as stateColors } from "./RunGantt";

/** A task's settings, as the API's task definition without `key`/`upstream` (the graph). */
interface TaskData extends Record<string, unknown> {
  job_id: string;
  job: string;
  retries: number;
  retry_interval_s: number;
  timeout_s?: number | null;
  timeout_action: "fail" | "alert";
  /** A task that waits for another workflow instead of running a job (kept as defined). */
  depends_on?: { workflow_id: string; days?: number; wait_limit_s?: number; on_timeout?: string } | null;
  /** A nested workflow task: the workflow it runs. */
  workflow_id?: string | null;
  state?: string;
}

type TaskNode = Node<TaskData>;

function TaskBox({ id, data, selected }: NodeProps<TaskNode>) {
  const color = data.state ? stateColors[data.state] ?? "#d9d9d9" : "#d9d9d9";
  return (
    <div data-testid={`task-${id}`} style={{ padding: 8, border: `2px solid ${selected ? "#1677ff" : color}`, borderRadius: 6, background: "#fff", minWidth: 140 }}>
      <Handle type="target" position={Position.Left} />
      <b>{id}</b>
      <div><small>{data.job}</small></div>
      {data.state && <Tag color={data.state === "SUCCESS" ? "green" : data.state === "FAILED" ? "red" : undefined} data-testid={`task-state-${id}`}>{data.state}</Tag>}
      <Handle type="source" position={Position.Right} />
    </div>
  );
}

const nodeTypes = { task: TaskBox };

/** Edges run left to right with an arrow at the downstream task. */
const edgeOptions = { markerEnd: { type: MarkerType.ArrowClosed }, style: { strokeWidth: 2 } };

/** Left-to-right layout of the DAG (dagre). */
function layout(nodes: TaskNode[], edges: Edge[]): TaskNode[] {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: "LR", nodesep: 30, ranksep: 60 });
  g.setDefaultEdgeLabel(() => ({}));
  nodes.forEach((n) => g.setNode(n.id, { width: 170, height: 70 }));
  edges.forEach((e) => g.setEdge(e.source, e.target));
  dagre.layout(g);
  return nodes.map((n) => {
    const p = g.node(n.id);
    return { ...n, position: { x: p.x - 85, y: p.y - 35 } };
  });
}

/** Whether adding `source → target` closes a cycle. */
function closesCycle(edges: Edge[], source: string, target: string): boolean {
  const next = new Map<string, string[]>();
  edges.forEach((e) => next.set(e.source, [...(next.get(e.source) ?? []), e.target]));
  const seen = new Set<string>();
  const stack = [target];
  while (stack.length) {
    const n = stack.pop()!;
    if (n === source) return true;
    if (seen.has(n)) continue;
    seen.add(n);
    stack.push(...(next.get(n) ?? []));
  }
  return false;
}

/** The project's workflows: list and create. */
export function WorkflowList({ pid }: { pid: string }) {
  const { t } = useTranslation();
  const nav = useNavigate();
  const { data, error } = useApi<any[]>(`/api/v1/projects/${pid}/workflows`);
  const [name, setName] = useState("");
  const [err, setErr] = useState<string>();
  return (
    <Space direction="vertical" style={{ width: "100%" }}>
      {(error || err) && <Alert type="error" message={error ?? err} />}
      <Space>
        <Input placeholder={t("name")} value={name} onChange={(e) => setName(e.target.value)} data-testid="workflow-name" />
        <Button type="primary" data-testid="new-workflow" disabled={!name.trim()} onClick={() => nav(`/projects/${pid}/workflows/new?name=${encodeURIComponent(name.trim())}`)}>
          {t("newWorkflow")}
        </Button>
      </Space>
      <Table
        rowKey="id"
        size="small"
        dataSource={data ?? []}
        locale={{ emptyText: t("empty") }}
        columns={[
          { title: t("name"), dataIndex: "name", render: (n, w: any) => <Link to={`/projects/${pid}/workflows/${w.id}`}>{n}</Link> },
          { title: t("tasks"), render: (_, w: any) => w.definition?.tasks?.length ?? 0 },
        ]}
      />
    </Space>
  );
}

/** The workflow editor: palette of the project's jobs, the DAG (drag, connect, delete), task
 * settings, undo/redo, auto-layout, save, run, and runs with their task states. */
export function WorkflowEditor() {
  const { pid, wid } = useParams();
  const { t } = useTranslation();
  const nav = useNavigate();
  const isNew = wid === "new";
  const { data: jobs } = useApi<any>(`/api/v1/projects/${pid}/jobs?page_size=500`);
  const { data: workflows } = useApi<any[]>(`/api/v1/projects/${pid}/workflows`);
  const others = (workflows ?? []).filter((w) => w.id !== wid);
  const [viewed, setViewed] = useState<string>();
  const [name, setName] = useState(() => new URLSearchParams(window.location.search).get("name") ?? "");
  const [strategy, setStrategy] = useState<"continue" | "end">("continue");
  const [nodes, setNodes] = useState<TaskNode[]>([]);
  const [edges, setEdges] = useState<Edge[]>([]);
  const [selected, setSelected] = useState<string>();
  const [err, setErr] = useState<string>();
  const [ok, setOk] = useState<string>();
  const [runs, setRuns] = useState<any[]>([]);
  const history = useRef<{ past: [TaskNode[], Edge[]][]; future: [TaskNode[], Edge[]][] }>({ past: [], future: [] });

  const jobName = useCallback((id: string) => (jobs?.items ?? []).find((j: any) => j.id === id)?.name ?? id, [jobs]);
  const wfName = useCallback((id: string) => (workflows ?? []).find((w: any) => w.id === id)?.name ?? id, [workflows]);

  /** Records the graph before a change (for undo). */
  const remember = useCallback(() => {
    history.current.past.push([nodes, edges]);
    history.current.future = [];
  }, [nodes, edges]);
  const undo = useCallback(() => {
    const prev = history.current.past.pop();
    if (!prev) return;
    history.current.future.push([nodes, edges]);
    setNodes(prev[0]);
    setEdges(prev[1]);
  }, [nodes, edges]);
  const redo = useCallback(() => {
    const next = history.current.future.pop();
    if (!next) return;
    history.current.past.push([nodes, edges]);
    setNodes(next[0]);
    setEdges(next[1]);
  }, [nodes, edges]);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const mod = e.ctrlKey || e.metaKey;
      if (!mod || (e.target as HTMLElement)?.closest?.("input, textarea")) return;
      if (e.key.toLowerCase() === "z" && !e.shiftKey) { e.preventDefault(); undo(); }
      else if (e.key.toLowerCase() === "y" || (e.key.toLowerCase() === "z" && e.shiftKey)) { e.preventDefault(); redo(); }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [undo, redo]);

  const loadRuns = useCallback(async () => {
    if (isNew) return;
    try {
      setRuns(await api("GET", `/api/v1/projects/${pid}/workflows/${wid}/runs`));
    } catch (e: any) {
      setErr(e.message);
    }
  }, [pid, wid, isNew]);

  useEffect(() => {
    if (isNew || !jobs || !workflows) return;
    api("GET", `/api/v1/projects/${pid}/workflows/${wid}`).then((w: any) => {
      setName(w.name);
      setStrategy(w.definition.failure_strategy ?? "continue");
      const ns: TaskNode[] = w.definition.tasks.map((x: any) => ({
        id: x.key, type: "task", position: { x: 0, y: 0 },
        data: { job_id: x.job_id ?? "", depends_on: x.depends_on ?? null, workflow_id: x.workflow_id ?? null, job: x.depends_on ? `⏳ ${wfName(x.depends_on.workflow_id)}` : x.workflow_id ? `⧉ ${wfName(x.workflow_id)}` : jobName(x.job_id), retries: x.retries ?? 0, retry_interval_s: x.retry_interval_s ?? 0, timeout_s: x.timeout_s, timeout_action: x.timeout_action ?? "fail" },
      }));
      const es: Edge[] = w.definition.tasks.flatMap((x: any) => (x.upstream ?? []).map((u: string) => ({ id: `${u}->${x.key}`, source: u, target: x.key })));
      setNodes(layout(ns, es));
      setEdges(es);
    }, (e) => setErr(e.message));
    loadRuns();
  }, [pid, wid, isNew, jobs, workflows, jobName, wfName, loadRuns]);

  // While a run runs, its task states refresh every second and color the graph.
  const latest = runs[0];
  useEffect(() => {
    if (latest?.state !== "RUNNING") return;
    const timer = setTimeout(loadRuns, 1000);
    return () => clearTimeout(timer);
  }, [latest, loadRuns]);
  const shown = useMemo(() => {
    const states = new Map<string, string>((latest?.tasks ?? []).map((x: any) => [x.task_key, x.state]));
    return nodes.map((n) => ({ ...n, data: { ...n.data, state: states.get(n.id) } }));
  }, [nodes, latest]);

  const onNodesChange = useCallback((c: NodeChange<TaskNode>[]) => {
    if (c.some((x) => x.type === "remove")) remember();
    setNodes((ns) => applyNodeChanges(c, ns));
  }, [remember]);
  const onEdgesChange = useCallback((c: EdgeChange[]) => {
    if (c.some((x) => x.type === "remove")) remember();
    setEdges((es) => applyEdgeChanges(c, es));
  }, [remember]);
  const onConnect = useCallback((c: Connection) => {
    if (c.source === c.target || closesCycle(edges, c.source, c.target)) {
      setErr(t("cycleRefused", { from: c.source, to: c.target }));
      return;
    }
    remember();
    setEdges((es) => addEdge({ ...c, id: `${c.source}->${c.target}` }, es));
  }, [edges, remember, t]);

  /** Adds a task: a job, a nested workflow (`kind` "nested") or a wait for a workflow's
   * successful runs (`kind` "wait"). */
  const addTask = (item: any, kind: "job" | "nested" | "wait" = "job") => {
    remember();
    let key = (kind === "wait" ? `wait_${item.name}` : item.name).replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 60) || "task";
    for (let i = 2; nodes.some((n) => n.id === key); i++) key = `${key.replace(/_\d+$/, "")}_${i}`;
    const i = nodes.length;
    const what: Partial<TaskData> =
      kind === "job" ? { job_id: item.id, job: item.name }
        : kind === "nested" ? { job_id: "", workflow_id: item.id, job: `⧉ ${item.name}` }
          : { job_id: "", depends_on: { workflow_id: item.id, days: 1, wait_limit_s: 3600, on_timeout: "fail" }, job: `⏳ ${item.name}` };
    const data = { job_id: "", job: "", retries: 0, retry_interval_s: 0, timeout_s: null, timeout_action: "fail", ...what } as TaskData;
    const ns: TaskNode[] = [...nodes, { id: key, type: "task", position: { x: 20 + (i % 3) * 200, y: 20 + Math.floor(i / 3) * 110 }, data }];
    setNodes(ns);
    setSelected(key);
  };
  const setTask = (key: string, patch: Partial<TaskData>) => {
    remember();
    setNodes((ns) => ns.map((n) => (n.id === key ? { ...n, data: { ...n.data, ...patch } } : n)));
  };

  const definition = () => ({
    failure_strategy: strategy,
    tasks: nodes.map((n) => ({
      key: n.id, ...(n.data.depends_on ? { depends_on: n.data.depends_on } : n.data.workflow_id ? { workflow_id: n.data.workflow_id } : { job_id: n.data.job_id }),
      upstream: edges.filter((e) => e.target === n.id).map((e) => e.source),
      retries: n.data.retries, retry_interval_s: n.data.retry_interval_s,
      ...(n.data.timeout_s ? { timeout_s: n.data.timeout_s } : {}), timeout_action: n.data.timeout_action,
    })),
  });
  const save = async () => {
    setErr(undefined);
    setOk(undefined);
    try {
      if (isNew) {
        const w = await api("POST", `/api/v1/projects/${pid}/workflows`, { name, definition: definition() });
        setOk(t("workflowSaved"));
        nav(`/projects/${pid}/workflows/${w.id}`, { replace: true });
      } else {
        await api("PUT", `/api/v1/projects/${pid}/workflows/${wid}`, { name, definition: definition() });
        setOk(t("workflowSaved"));
      }
    } catch (e: any) {
      setErr(e.message);
    }
  };
  const run = async () => {
    setErr(undefined);
    try {
      await api("POST", `/api/v1/projects/${pid}/workflows/${wid}/runs`, {});
      await loadRuns();
    } catch (e: any) {
      setErr(e.message);
    }
  };

  const sel = nodes.find((n) => n.id === selected);
  return (
    <Row gutter={16}>
      <Col span={5}>
        <Card title={t("jobs")} size="small" data-testid="palette">
          <List size="small" dataSource={jobs?.items ?? []} renderItem={(j: any) => (
            <List.Item actions={[<Button key="add" size="small" data-testid={`add-${j.name}`} onClick={() => addTask(j)}>+</Button>]}>{j.name}</List.Item>
          )} />
        </Card>
        <Card title={t("workflows")} size="small" style={{ marginTop: 12 }} data-testid="palette-workflows">
          <List size="small" dataSource={others} locale={{ emptyText: t("empty") }} renderItem={(w: any) => (
            <List.Item actions={[
              <Tooltip key="n" title={t("nestedHelp")}><Button size="small" data-testid={`nest-${w.name}`} onClick={() => addTask(w, "nested")}>⧉</Button></Tooltip>,
              <Tooltip key="w" title={t("waitHelp")}><Button size="small" data-testid={`wait-${w.name}`} onClick={() => addTask(w, "wait")}>⏳</Button></Tooltip>,
            ]}>{w.name}</List.Item>
          )} />
        </Card>
      </Col>
      <Col span={13}>
        <Card size="small"
          title={<Space><Link to={`/projects/${pid}`}>{t("workflows")}</Link><Input size="small" value={name} onChange={(e) => setName(e.target.value)} style={{ width: 140 }} data-testid="wf-name" /></Space>}
          extra={
            <Space>
              <Tooltip title="Ctrl+Z"><Button size="small" onClick={undo} data-testid="undo">{t("undo")} ⌃Z</Button></Tooltip>
              <Tooltip title="Ctrl+Y / Ctrl+Shift+Z"><Button size="small" onClick={redo} data-testid="redo">{t("redo")} ⌃Y</Button></Tooltip>
              <Button size="small" onClick={() => { remember(); setNodes(layout(nodes, edges)); }}>{t("autoLayout")}</Button>
              <Select size="small" value={strategy} onChange={setStrategy} style={{ width: 150 }}
                options={[{ value: "continue", label: t("strategyContinue") }, { value: "end", label: t("strategyEnd") }]} />
              <Button size="small" type="primary" onClick={save} data-testid="wf-save">{t("saveWorkflow")}</Button>
              {!isNew && <Button size="small" onClick={run} data-testid="wf-run">{t("runWorkflow")}</Button>}
              {!isNew && <BackfillButton path={`/api/v1/projects/${pid}/workflows/${wid}/backfills`} onDone={loadRuns} />}
            </Space>
          }>
          {err && <Alert type="error" message={err} closable onClose={() => setErr(undefined)} style={{ marginBottom: 8 }} data-testid="wf-error" />}
          {ok && <Alert type="success" message={ok} style={{ marginBottom: 8 }} data-testid="wf-ok" />}
          <div style={{ height: 420, border: "1px solid #eee" }} data-testid="dag">
            <ReactFlow nodes={shown} edges={edges} nodeTypes={nodeTypes} defaultEdgeOptions={edgeOptions} onNodesChange={onNodesChange} onEdgesChange={onEdgesChange}
              onConnect={onConnect} onNodeClick={(_, n) => setSelected(n.id)} onNodeDragStart={remember} deleteKeyCode={["Delete", "Backspace"]}
              {...(isNew ? { defaultViewport: { x: 0, y: 0, zoom: 0.9 } } : { fitView: true, fitViewOptions: { maxZoom: 1 } })}>
              <Background />
              <Controls />
            </ReactFlow>
          </div>
          <small>{t("editorHelp")}</small>
        </Card>
        {latest && (
          <Card size="small" title={t("runs")} style={{ marginTop: 12 }} data-testid="wf-runs">
            <RunGantt pid={pid!} run={runs.find((r) => r.id === viewed) ?? latest} />
            <Table rowKey="id" size="small" pagination={{ pageSize: 5 }} dataSource={runs} style={{ marginTop: 12 }}
              onRow={(r: any) => ({ onClick: () => setViewed(r.id), style: { cursor: "pointer", background: r.id === (viewed ?? latest?.id) ? "#e6f4ff" : undefined } })}
              columns={[
                { title: t("time"), dataIndex: "created_at", render: (v: number) => new Date(v).toLocaleString() },
                { title: "bizdate", dataIndex: "bizdate" },
                { title: t("state"), dataIndex: "state", render: (s: string) => <Tag data-testid="wf-run-state">{s}</Tag> },
                { title: t("tasks"), render: (_, r: any) => r.tasks.map((x: any) => (
                  <Tag key={x.task_key} title={x.reason ?? ""}>{x.task_key}: {x.state}{x.instance_id ? <> <Link to={`/projects/${pid}/jobs/${x.job_id}/instances/${x.instance_id}`}>↗</Link></> : null}</Tag>
                )) },
              ]} />
          </Card>
        )}
      </Col>
      <Col span={6}>
        <Card size="small" title={sel ? `${t("task")}: ${sel.id}` : t("task")} data-testid="task-settings">
          {sel ? (
            <Form layout="vertical" size="small">
              <Form.Item label={sel.data.workflow_id || sel.data.depends_on ? t("workflows") : t("jobs")}>{sel.data.job}</Form.Item>
              {sel.data.depends_on && (
                <>
                  <Form.Item label={t("waitDays")}><InputNumber min={1} max={31} value={sel.data.depends_on.days ?? 1} onChange={(v) => setTask(sel.id, { depends_on: { ...sel.data.depends_on!, days: Number(v ?? 1) } })} /></Form.Item>
                  <Form.Item label={t("waitLimit")}><InputNumber min={1} max={604800} value={sel.data.depends_on.wait_limit_s ?? 3600} onChange={(v) => setTask(sel.id, { depends_on: { ...sel.data.depends_on!, wait_limit_s: Number(v ?? 3600) } })} /></Form.Item>
                  <Form.Item label={t("waitOnTimeout")}>
                    <Select value={sel.data.depends_on.on_timeout ?? "fail"} onChange={(v) => setTask(sel.id, { depends_on: { ...sel.data.depends_on!, on_timeout: v } })}
                      options={[{ value: "fail", label: t("timeoutFail") }, { value: "skip", label: t("skipMissed") }]} />
                  </Form.Item>
                </>
              )}
              <Form.Item label={t("retries")}><InputNumber min={0} max={10} value={sel.data.retries} onChange={(v) => setTask(sel.id, { retries: Number(v ?? 0) })} /></Form.Item>
              <Form.Item label={t("retryInterval")}><InputNumber min={0} max={86400} value={sel.data.retry_interval_s} onChange={(v) => setTask(sel.id, { retry_interval_s: Number(v ?? 0) })} /></Form.Item>
              <Form.Item label={t("timeoutS")}><InputNumber min={1} value={sel.data.timeout_s ?? undefined} onChange={(v) => setTask(sel.id, { timeout_s: v ? Number(v) : null })} /></Form.Item>
              <Form.Item label={t("timeoutAction")}>
                <Select value={sel.data.timeout_action} onChange={(v) => setTask(sel.id, { timeout_action: v })}
                  options={[{ value: "fail", label: t("timeoutFail") }, { value: "alert", label: t("timeoutAlert") }]} />
              </Form.Item>
            </Form>
          ) : <small>{t("selectTask")}</small>}
        </Card>
      </Col>
    </Row>
  );
}
