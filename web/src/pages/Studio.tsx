import { useEffect, useRef, useState } from "react";
import { useNavigate, useParams } from "react-router-dom";
import Editor, { DiffEditor, type OnMount } from "@monaco-editor/react";
import { Alert, Button, Card, Col, Input, Row, Select, Space, Table, Tag, Typography } from "antd";
import { useTranslation } from "react-i18next";
import { api, ApiError, stream } from "../api";
import { useApi } from "../hooks";
import { type DatasourceTable, extraTables, monaco } from "../monaco";
import { markerAt } from "../sql";
import { ScheduleCard } from "./ScheduleCard";

/** A live preview: the result's columns and its rows so far, each with the kind of its last change. */
type LivePreview = { columns: any[]; rows: { kind: string; values: any[] }[]; running: boolean; truncated: boolean };

/** Applies a batch of changes (Flink row kinds) to the grid's rows: `+I`/`+U` add a row,
 * `-U`/`-D` remove an equal one. */
export function applyChanges(rows: LivePreview["rows"], kinds: string[], values: any[][]): LivePreview["rows"] {
  const out = rows.slice();
  const same = (a: any[], b: any[]) => a.length === b.length && a.every((v, i) => v === b[i]);
  values.forEach((v, i) => {
    const k = kinds[i] ?? "+I";
    if (k === "-U" || k === "-D") {
      const at = out.findIndex((r) => same(r.values, v));
      if (at >= 0) out.splice(at, 1);
    } else {
      out.push({ kind: k, values: v });
    }
  });
  return out;
}

export function Studio() {
  const { pid, jid } = useParams();
  const nav = useNavigate();
  const { t } = useTranslation();
  const { data: job, reload: reloadJob } = useApi<any>(`/api/v1/projects/${pid}/jobs/${jid}`);
  const { data: versions, reload: reloadVersions } = useApi<any[]>(`/api/v1/projects/${pid}/jobs/${jid}/versions`);
  const { data: clusters } = useApi<any[]>("/api/v1/clusters");
  const { data: datasources } = useApi<any>(`/api/v1/projects/${pid}/datasources?page_size=500`);
  const [script, setScript] = useState<string>();
  const [problem, setProblem] = useState<string>();
  const [ok, setOk] = useState<string>();
  const [explain, setExplain] = useState<string>();
  const [preview, setPreview] = useState<LivePreview>();
  const previewAbort = useRef<AbortController>(undefined);
  useEffect(() => () => previewAbort.current?.abort(), []);
  const [msg, setMsg] = useState("");
  const [diff, setDiff] = useState<[number, number]>();
  const [target, setTarget] = useState<string>("embedded");
  const editorRef = useRef<Parameters<OnMount>[0]>(undefined);

  // The datasources' tables for completion; a newer page or project replaces an older list.
  useEffect(() => {
    let current = true;
    if (!datasources) {
      let settle: () => void = () => undefined;
      extraTables.loaded = new Promise<void>((r) => (settle = r));
      return () => {
        current = false;
        settle();
      };
    }
    const names: DatasourceTable[] = [];
    extraTables.names = names;
    extraTables.loaded = Promise.all(
      (datasources.items ?? []).map((d: any) =>
        api<string[]>("GET", `/api/v1/projects/${pid}/datasources/${d.id}/tables`).then(
          (tables) => {
            if (current) names.push(...tables.map((table) => ({ table, datasource: d.name })));
          },
          () => undefined,
        ),
      ),
    ).then(() => undefined);
    return () => {
      current = false;
    };
  }, [datasources, pid]);
  useEffect(() => {
    if (job && versions && script === undefined) {
      const cur = versions.find((v) => v.version === job.current_version);
      setScript(cur?.script ?? "");
      setTarget(job.engine === "flink" ? job.cluster_id : "embedded");
    }
  }, [job, versions, script]);

  const mark = (e: unknown) => {
    const model = editorRef.current?.getModel();
    if (!model) return;
    if (e instanceof ApiError && e.line && e.column) {
      const m = markerAt(model.getValue(), e.line, e.column, e.message);
      monaco.editor.setModelMarkers(model, "scaleph", [{ ...m, severity: monaco.MarkerSeverity.Error }]);
    } else monaco.editor.setModelMarkers(model, "scaleph", []);
  };
  const run = async (what: () => Promise<void>) => {
    setProblem(undefined);
    setOk(undefined);
    setExplain(undefined);
    try {
      await what();
      mark(null);
    } catch (e: any) {
      setProblem(e.message);
      mark(e);
    }
  };
  const current = () => editorRef.current?.getValue() ?? script ?? "";

  return (
    <Row gutter={16}>
      <Col span={17}>
        <Card
          title={<Space>{t("studio")} <Typography.Text code>{job?.name}</Typography.Text></Space>}
          extra={
            <Space>
              <Button data-testid="validate" onClick={() => run(async () => {
                // Validated against the engine the job runs on: Flink scripts by Flink.
                const engine = target === "embedded" ? "embedded" : "flink";
                const r = await api("POST", "/api/v1/sql/validate", { script: current(), engine });
                const notes = (r.notes ?? []).join(" ");
                setOk(`${t("valid")} (${r.statements}) — ${t("validatedBy")}: ${r.validated_by}${notes ? ". " + notes : ""}`);
                setExplain(r.explain ?? undefined);
              })}>{t("validate")}</Button>
              <Button data-testid="preview" onClick={() => run(async () => {
                // Live: changes are applied to the grid as they come (row kinds shown).
                previewAbort.current?.abort();
                const ac = new AbortController();
                previewAbort.current = ac;
                let state: LivePreview = { columns: [], rows: [], running: true, truncated: false };
                setPreview(state);
                try {
                  await stream("/api/v1/sql/preview/stream", { script: current(), limit: 100 }, ac.signal, (name, d) => {
                    if (name === "columns") state = { ...state, columns: d.columns };
                    else if (name === "rows") state = { ...state, rows: applyChanges(state.rows, d.kinds, d.rows) };
                    else if (name === "end") state = { ...state, running: false, truncated: d.truncated };
                    setPreview(state);
                  });
                } catch (e: any) {
                  if (e?.name !== "AbortError") throw e;
                } finally {
                  setPreview({ ...state, running: false });
                  if (previewAbort.current === ac) previewAbort.current = undefined;
                }
              })}>{t("preview")}</Button>
              {preview?.running && (
                <Button data-testid="preview-stop" danger onClick={() => previewAbort.current?.abort()}>{t("stopPreview")}</Button>
              )}
              <Input placeholder={t("message")} value={msg} onChange={(e) => setMsg(e.target.value)} style={{ width: 160 }} />
              <Button data-testid="save" onClick={() => run(async () => {
                const v = await api("POST", `/api/v1/projects/${pid}/jobs/${jid}/versions`, { script: current(), message: msg });
                setOk(t("saved", { v: v.version }));
                reloadVersions();
                reloadJob();
              })}>{t("save")}</Button>
              <Select
                value={target}
                onChange={setTarget}
                style={{ width: 150 }}
                options={[{ value: "embedded", label: "embedded" }, ...(clusters ?? []).map((c) => ({ value: c.id, label: `flink: ${c.name}` }))]}
              />
              <Button type="primary" data-testid="submit" onClick={() => run(async () => {
                const engine = target === "embedded" ? "embedded" : "flink";
                if (engine !== job.engine || (engine === "flink" && target !== job.cluster_id)) {
                  await api("PATCH", `/api/v1/projects/${pid}/jobs/${jid}`, engine === "flink" ? { engine, cluster_id: target } : { engine });
                }
                const i = await api("POST", `/api/v1/projects/${pid}/jobs/${jid}/submit`, {});
                nav(`/projects/${pid}/jobs/${jid}/instances/${i.id}`);
              })}>{t("submit")}</Button>
            </Space>
          }
        >
          {problem && <Alert type="error" message={problem} style={{ marginBottom: 8 }} data-testid="problem" />}
          {ok && <Alert type="success" message={ok} style={{ marginBottom: 8 }} data-testid="valid" />}
          {explain && (
            <details style={{ marginBottom: 8 }} data-testid="explain">
              <summary>{t("explainPlan")}</summary>
              <pre style={{ maxHeight: 240, overflow: "auto", fontSize: 12 }}>{explain}</pre>
            </details>
          )}
          {script !== undefined && (
            <div data-testid="editor" style={{ border: "1px solid #ddd" }}>
              <Editor
                height="420px"
                language="flinksql"
                defaultValue={script}
                onMount={(ed) => {
                  editorRef.current = ed;
                  (window as any).scalephEditor = ed;
                }}
                options={{ minimap: { enabled: false }, fontSize: 13 }}
              />
            </div>
          )}
          {preview && (
            <Table
              style={{ marginTop: 12 }}
              size="small"
              data-testid="preview-grid"
              rowKey={(_, i) => String(i)}
              dataSource={preview.rows.map((r) => ({ kind: r.kind, ...Object.fromEntries(r.values.map((v, i) => [i, v])) }))}
              locale={{ emptyText: preview.running ? "…" : t("noRows") }}
              pagination={{ pageSize: 20 }}
              title={() => (preview.running ? t("previewRunning") : preview.truncated ? t("previewTruncated") : null)}
              columns={[
                { title: "op", dataIndex: "kind", width: 56, render: (k: string) => <Tag>{k}</Tag> },
                ...preview.columns.map((c: any, i: number) => ({
                  title: <span>{c.name} <Tag>{c.type}</Tag></span>,
                  dataIndex: String(i),
                  render: (v: any) => (v === null ? <i>NULL</i> : String(v)),
                })),
              ]}
            />
          )}
          {diff && versions && (
            <Card size="small" title={`${t("diff")} v${diff[0]} ↔ v${diff[1]}`} style={{ marginTop: 12 }} extra={<Button size="small" onClick={() => setDiff(undefined)}>×</Button>}>
              <DiffEditor
                height="300px"
                language="flinksql"
                original={versions.find((v) => v.version === diff[0])?.script}
                modified={versions.find((v) => v.version === diff[1])?.script}
                options={{ readOnly: true, renderSideBySide: true, minimap: { enabled: false } }}
              />
            </Card>
          )}
        </Card>
      </Col>
      <Col span={7}>
        <Card title={t("versions")} size="small">
          <Table
            size="small"
            rowKey="version"
            dataSource={versions ?? []}
            pagination={false}
            columns={[
              { title: "v", dataIndex: "version" },
              { title: t("message"), dataIndex: "message" },
              {
                title: "",
                render: (_, v: any) =>
                  v.version > 1 ? <Button size="small" onClick={() => setDiff([v.version - 1, v.version])}>{t("compare")}</Button> : null,
              },
            ]}
          />
        </Card>
        <ScheduleCard pid={pid!} jid={jid!} />
      </Col>
    </Row>
  );
}
