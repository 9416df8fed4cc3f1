import { useEffect, useRef, useState } from "react";
import { Link, useNavigate, useParams } from "react-router-dom";
import { Alert, App, Button, Card, Col, Descriptions, Row, Space, Table, Tag, Timeline } from "antd";
import { useTranslation } from "react-i18next";
import { api } from "../api";
import { useApi } from "../hooks";
import { stateColor } from "./Project";

interface Point {
  at: number;
  rowsIn: number;
  rowsOut: number;
}

/** A small line chart of rows read and written over time (SVG). */
function Chart({ points }: { points: Point[] }) {
  if (points.length < 2) return null;
  const w = 420, h = 120;
  const t0 = points[0].at, t1 = points[points.length - 1].at || t0 + 1;
  const max = Math.max(1, ...points.map((p) => Math.max(p.rowsIn, p.rowsOut)));
  const line = (f: (p: Point) => number) =>
    points.map((p) => `${((p.at - t0) / Math.max(1, t1 - t0)) * w},${h - (f(p) / max) * h}`).join(" ");
  const last = points[points.length - 1], prev = points[points.length - 2];
  const rate = ((last.rowsOut - prev.rowsOut) / Math.max(0.001, (last.at - prev.at) / 1000)).toFixed(0);
  return (
    <div data-testid="metrics-chart">
      <svg width={w} height={h} style={{ background: "#fafafa", border: "1px solid #eee" }}>
        <polyline fill="none" stroke="#1677ff" strokeWidth="2" points={line((p) => p.rowsIn)} />
        <polyline fill="none" stroke="#52c41a" strokeWidth="2" points={line((p) => p.rowsOut)} />
      </svg>
      <div><Tag color="blue">in {last.rowsIn}</Tag><Tag color="green">out {last.rowsOut}</Tag><Tag>{rate} rows/s</Tag></div>
    </div>
  );
}

export function JobDetail() {
  const { pid, jid, iid } = useParams();
  const { t } = useTranslation();
  const nav = useNavigate();
  const { message, modal } = App.useApp();
  const [inst, setInst] = useState<any>();
  const [logs, setLogs] = useState<any[]>([]);
  const [points, setPoints] = useState<Point[]>([]);
  const [err, setErr] = useState<string>();
  const logEnd = useRef<HTMLDivElement>(null);
  const { data: savepoints, reload: reloadSavepoints } = useApi<any[]>(`/api/v1/projects/${pid}/jobs/${jid}/savepoints`);
  const [exceptions, setExceptions] = useState<any>();
  // A savepoint in progress: its row is refreshed until it completes or fails.
  const pendingSavepoint = (savepoints ?? []).some((s: any) => s.status === "IN_PROGRESS");
  useEffect(() => {
    if (!pendingSavepoint) return;
    const timer = setTimeout(reloadSavepoints, 1000);
    return () => clearTimeout(timer);
  }, [pendingSavepoint, savepoints, reloadSavepoints]);

  useEffect(() => {
    setLogs([]);
    setPoints([]);
    const es = new EventSource(`/api/v1/instances/${iid}/events`);
    es.addEventListener("instance", (e) => {
      const d = JSON.parse((e as MessageEvent).data);
      setInst(d);
      const sum = (role: string) => d.metrics.filter((m: any) => m.role === role).reduce((a: number, m: any) => a + m.rows, 0);
      setPoints((p) => [...p, { at: Date.now(), rowsIn: sum("source"), rowsOut: sum("sink") }].slice(-120));
    });
    es.addEventListener("logs", (e) => setLogs((l) => [...l, ...JSON.parse((e as MessageEvent).data)].slice(-2000)));
    es.onerror = () => {
      if (es.readyState === EventSource.CLOSED) return;
    };
    return () => es.close();
  }, [iid]);
  // A block body: React calls whatever an effect returns as its cleanup, and Chromium's
  // scrollIntoView returns a Promise (see effects.test.ts).
  useEffect(() => {
    logEnd.current?.scrollIntoView({ block: "nearest" });
  }, [logs]);
  useEffect(() => {
    if (inst?.engine === "flink" && inst.state === "FAILED") {
      api("GET", `/api/v1/instances/${iid}/exceptions`).then(setExceptions, () => undefined);
    }
  }, [inst?.engine, inst?.state, iid]);

  /** Asks in one modal dialog (a single, focused confirmation; the page re-renders with every
   * event underneath it), then runs `fn`; errors are shown above the page. */
  const confirm = (label: string, fn: () => Promise<void>) =>
    modal.confirm({
      title: label,
      content: t("confirm"),
      onOk: async () => {
        try {
          await fn();
        } catch (e: any) {
          setErr(e.message);
        }
      },
    });
  /** An action button; `opens`: the answer is a new instance of the job, shown next;
   * `ask`: confirm first (actions that end or replace the run). */
  const act = (label: string, fn: () => Promise<any>, opens = false, ask = true) => {
    const go = async () => {
      const r = await fn();
      message.success(label);
      reloadSavepoints();
      if (opens && r?.id && r.id !== iid) nav(`/projects/${pid}/jobs/${jid}/instances/${r.id}`);
    };
    return (
      <Button
        data-testid={`action-${label}`}
        onClick={() => (ask ? confirm(label, go) : go().catch((e: any) => setErr(e.message)))}
      >
        {label}
      </Button>
    );
  };
  const flink = inst?.engine === "flink";
  return (
    <Space direction="vertical" style={{ width: "100%" }}>
      {err && <Alert type="error" message={err} closable onClose={() => setErr(undefined)} />}
      <Card
        title={<Space><Link to={`/projects/${pid}/jobs/${jid}`}>{t("jobDetail")}</Link> / {t("instance")} <code>{iid}</code></Space>}
        extra={
          <Space>
            {act(t("cancel"), () => api("POST", `/api/v1/instances/${iid}/cancel`, {}))}
            {act(t("stop"), () => api("POST", `/api/v1/instances/${iid}/stop`, { drain: false }))}
            {act(t("triggerSavepoint"), () => api("POST", `/api/v1/instances/${iid}/savepoints`, {}), false, false)}
            {act(t("restart"), () => api("POST", `/api/v1/instances/${iid}/restart`, {}), true)}
          </Space>
        }
      >
        <Descriptions size="small" column={4}>
          <Descriptions.Item label={t("state")}><Tag color={stateColor(inst?.state)} data-testid="state">{inst?.state ?? "…"}</Tag></Descriptions.Item>
          <Descriptions.Item label={t("engine")}>{inst?.engine}</Descriptions.Item>
          <Descriptions.Item label="v">{inst?.version}</Descriptions.Item>
          <Descriptions.Item label="error">{inst?.error ?? "—"}</Descriptions.Item>
        </Descriptions>
      </Card>
      <Row gutter={16}>
        <Col span={8}>
          <Card title={t("timeline")} size="small">
            <Timeline items={(inst?.history ?? []).map((h: any) => ({
              color: stateColor(h.state) === "default" ? "gray" : stateColor(h.state),
              children: <span>{h.state} <small>{new Date(h.at).toLocaleTimeString()}</small> {h.reason && <i>— {h.reason}</i>}</span>,
            }))} />
          </Card>
        </Col>
        <Col span={16}>
          <Card title={t("metrics")} size="small">
            <Chart points={points} />
            <Table
              size="small"
              rowKey={(m: any) => `${m.role}:${m.table}`}
              data-testid="metrics"
              dataSource={inst?.metrics ?? []}
              pagination={false}
              columns={[
                { title: t("table"), dataIndex: "table" },
                { title: t("role"), dataIndex: "role" },
                { title: t("rows"), dataIndex: "rows" },
                { title: t("bytes"), dataIndex: "bytes" },
              ]}
            />
          </Card>
        </Col>
      </Row>
      {inst?.state === "RUNNING" && <Operators iid={iid!} />}
      <Card title={t("logs")} size="small">
        <pre data-testid="logs" style={{ maxHeight: 260, overflow: "auto", background: "#111", color: "#ddd", padding: 8 }}>
          {logs.map((l) => `${l.level.padEnd(6)} ${l.line}`).join("\n") || t("empty")}
          <div ref={logEnd} />
        </pre>
      </Card>
      {flink && exceptions && (
        <Card title={t("exceptions")} size="small">
          <Alert type="error" message={exceptions.root_cause} />
        </Card>
      )}
      <Card title={t("savepoints")} size="small">
        <Table
          size="small"
          rowKey="id"
          data-testid="savepoints"
          dataSource={savepoints ?? []}
          locale={{ emptyText: t("empty") }}
          columns={[
            { title: t("time"), dataIndex: "created_at", render: (v) => new Date(v).toLocaleString() },
            { title: "kind", dataIndex: "trigger_kind" },
            { title: t("state"), dataIndex: "status" },
            { title: "path", dataIndex: "path" },
            {
              title: "",
              render: (_, s: any) =>
                s.status === "COMPLETED" ? (
                  <Button
                    size="small"
                    onClick={() =>
                      confirm(t("restore"), async () => {
                        const i = await api("POST", `/api/v1/projects/${pid}/jobs/${jid}/submit`, { savepoint_id: s.id });
                        nav(`/projects/${pid}/jobs/${jid}/instances/${i.id}`);
                      })
                    }
                  >
                    {t("restore")}
                  </Button>
                ) : null,
            },
          ]}
        />
      </Card>
    </Space>
  );
}

/** The operators of a running instance (either engine), refreshed every 2 s in its own
 * component, so the page around it does not re-render with it. */
function Operators({ iid }: { iid: string }) {
  const { t } = useTranslation();
  const [vertices, setVertices] = useState<any>();
  useEffect(() => {
    let live = true;
    const load = () =>
      api("GET", `/api/v1/instances/${iid}/vertices`).then((v) => live && setVertices(v), () => undefined);
    load();
    const timer = setInterval(load, 2000);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [iid]);
  if (!(vertices?.vertices?.length > 0)) return null;
  return (
    <Card title={t("operators")} size="small">
      <Table
        size="small"
        rowKey="id"
        data-testid="operators"
        dataSource={vertices.vertices}
        pagination={false}
        columns={[
          { title: t("operator"), dataIndex: "name" },
          { title: t("recordsIn"), render: (_, v: any) => v.metrics?.["read-records"] },
          { title: t("recordsOut"), render: (_, v: any) => v.metrics?.["write-records"] },
          { title: `${t("recordsIn")} ${t("perSecond")}`, render: (_, v: any) => v.records_in_per_second?.toFixed(1) ?? "—" },
          { title: `${t("recordsOut")} ${t("perSecond")}`, render: (_, v: any) => v.records_out_per_second?.toFixed(1) ?? "—" },
          { title: t("watermark"), render: (_, v: any) => (v.watermark != null && v.watermark < 8e15 ? new Date(v.watermark).toISOString() : "—") },
          { title: t("lateDropped"), dataIndex: "late_records_dropped" },
          { title: t("stateRows"), dataIndex: "state_rows" },
        ]}
      />
      {(vertices.checkpoints ?? []).map((c: any) => (
        <div key={c.statement}>
          {t("checkpoints")}: {c.completed} · #{c.last_id ?? "—"} · {c.last_duration_ms ?? "—"} ms · {c.last_size_bytes ?? "—"} B
        </div>
      ))}
    </Card>
  );
}
