import { useEffect, useState } from "react";
import { Link, useNavigate, useParams } from "react-router-dom";
import { Alert, App, Button, Card, Form, Input, InputNumber, Select, Space, Table, Tabs, Tag } from "antd";
import { useTranslation } from "react-i18next";
import { api } from "../api";
import { useAction, useApi } from "../hooks";
import { WorkflowList } from "./Workflows";
import { Alerts } from "./Alerts";

export const stateColor = (s?: string) =>
  ({ FINISHED: "green", RUNNING: "blue", FAILED: "red", CANCELED: "default", LOST: "magenta", UNKNOWN: "orange" } as any)[s ?? ""] ?? "gold";

export function Project() {
  const { pid } = useParams();
  const { t } = useTranslation();
  const { data: project, error } = useApi<any>(`/api/v1/projects/${pid}`);
  if (error) return <Alert type="error" message={error} />;
  return (
    <Card title={project?.name ?? ""}>
      <Tabs
        items={[
          { key: "jobs", label: t("jobs"), children: <Jobs pid={pid!} /> },
          { key: "workflows", label: t("workflows"), children: <WorkflowList pid={pid!} /> },
          { key: "datasources", label: t("datasources"), children: <Datasources pid={pid!} /> },
          { key: "alerts", label: t("alerts"), children: <Alerts pid={pid!} /> },
          { key: "members", label: t("members"), children: <Members pid={pid!} /> },
        ]}
      />
    </Card>
  );
}

function Jobs({ pid }: { pid: string }) {
  const { t } = useTranslation();
  const nav = useNavigate();
  const { data, error, loading } = useApi<any>(`/api/v1/projects/${pid}/jobs?page_size=500`);
  const [last, setLast] = useState<Record<string, any>>({});
  const [state, setState] = useState<string>();
  const [q, setQ] = useState("");
  const [err, run] = useAction();
  useEffect(() => {
    for (const j of data?.items ?? []) {
      api("GET", `/api/v1/projects/${pid}/jobs/${j.id}/instances?page_size=1`).then(
        (r) => setLast((l) => ({ ...l, [j.id]: r.items[0] })),
        () => undefined,
      );
    }
  }, [data, pid]);
  const rows = (data?.items ?? []).filter(
    (j: any) => j.name.toLowerCase().includes(q.toLowerCase()) && (!state || last[j.id]?.state === state),
  );
  return (
    <>
      {(error || err) && <Alert type="error" message={error ?? err} style={{ marginBottom: 12 }} />}
      <Space style={{ marginBottom: 12 }}>
        <Input.Search placeholder={t("search")} allowClear onChange={(e) => setQ(e.target.value)} />
        <Select
          allowClear
          placeholder={t("allStates")}
          style={{ width: 160 }}
          onChange={setState}
          options={["RUNNING", "FINISHED", "FAILED", "CANCELED", "UNKNOWN", "LOST"].map((s) => ({ value: s, label: s }))}
        />
        <Button
          type="primary"
          data-testid="new-job"
          onClick={async () => {
            await run(async () => {
              const name = `job-${Date.now().toString(36)}`;
              const j = await api("POST", `/api/v1/projects/${pid}/jobs`, {
                name,
                script: "-- Flink SQL\n",
                message: "new",
              });
              nav(`/projects/${pid}/jobs/${j.id}`);
            });
          }}
        >
          {t("newJob")}
        </Button>
      </Space>
      <Table
        rowKey="id"
        loading={loading}
        dataSource={rows}
        locale={{ emptyText: t("empty") }}
        columns={[
          { title: t("name"), dataIndex: "name", render: (n, j: any) => <Link to={`/projects/${pid}/jobs/${j.id}`}>{n}</Link> },
          { title: t("engine"), dataIndex: "engine" },
          { title: "v", dataIndex: "current_version" },
          {
            title: t("lastRun"),
            render: (_, j: any) => {
              const i = last[j.id];
              return i ? <Link to={`/projects/${pid}/jobs/${j.id}/instances/${i.id}`}><Tag color={stateColor(i.state)}>{i.state}</Tag></Link> : "—";
            },
          },
        ]}
      />
    </>
  );
}

const FIELDS: Record<string, string[]> = {
  filesystem: ["path"],
  postgresql: ["host", "port", "database", "username", "password"],
  mysql: ["host", "port", "database", "username", "password"],
};

function Datasources({ pid }: { pid: string }) {
  const { t } = useTranslation();
  const { data, error, reload } = useApi<any>(`/api/v1/projects/${pid}/datasources?page_size=500`);
  const [kind, setKind] = useState("filesystem");
  const { message } = App.useApp();
  const [err, run] = useAction();
  return (
    <>
      {(error || err) && <Alert type="error" message={error ?? err} style={{ marginBottom: 12 }} />}
      <Form
        layout="inline"
        style={{ marginBottom: 16 }}
        onFinish={async (v) => {
          const properties: Record<string, string> = {};
          for (const f of FIELDS[kind]) if (v[f] !== undefined && v[f] !== "") properties[f] = String(v[f]);
          await run(async () => {
            await api("POST", `/api/v1/projects/${pid}/datasources`, { name: v.name, type: kind, properties });
            reload();
          });
        }}
      >
        <Form.Item name="name" rules={[{ required: true }]}>
          <Input placeholder={t("name")} id="ds-name" />
        </Form.Item>
        <Form.Item>
          <Select value={kind} onChange={setKind} style={{ width: 130 }} options={Object.keys(FIELDS).map((k) => ({ value: k, label: k }))} />
        </Form.Item>
        {FIELDS[kind].map((f) => (
          <Form.Item key={f} name={f} rules={[{ required: f !== "password" }]}>
            {f === "password" ? <Input.Password placeholder={f} /> : f === "port" ? <InputNumber placeholder={f} /> : <Input placeholder={f} id={`ds-${f}`} />}
          </Form.Item>
        ))}
        <Button htmlType="submit" type="primary" data-testid="create-datasource">{t("create")}</Button>
      </Form>
      <Table
        rowKey="id"
        dataSource={data?.items ?? []}
        locale={{ emptyText: t("empty") }}
        columns={[
          { title: t("name"), dataIndex: "name" },
          { title: t("type"), dataIndex: "type" },
          { title: t("properties"), dataIndex: "properties", render: (p) => <code>{JSON.stringify(p)}</code> },
          {
            title: "",
            render: (_, d: any) => (
              <Button
                size="small"
                onClick={async () => {
                  try {
                    const r = await api("POST", `/api/v1/projects/${pid}/datasources/${d.id}/test`, {});
                    r.ok ? message.success(`OK (${r.elapsed_ms} ms)`) : message.error(r.message);
                  } catch (e: any) {
                    message.error(e.message);
                  }
                }}
              >
                {t("test")}
              </Button>
            ),
          },
        ]}
      />
    </>
  );
}

function Members({ pid }: { pid: string }) {
  const { t } = useTranslation();
  const { data, error, reload } = useApi<any[]>(`/api/v1/projects/${pid}/members`);
  const [err, run] = useAction();
  return (
    <>
      {(error || err) && <Alert type="error" message={error ?? err} style={{ marginBottom: 12 }} />}
      <Form
        layout="inline"
        style={{ marginBottom: 16 }}
        onFinish={async (v) => {
          await run(async () => {
            await api("PUT", `/api/v1/projects/${pid}/members/${v.user_id}`, { role: v.role });
            reload();
          });
        }}
      >
        <Form.Item name="user_id" rules={[{ required: true }]}>
          <Input placeholder="user id" />
        </Form.Item>
        <Form.Item name="role" initialValue="viewer">
          <Select style={{ width: 130 }} options={["viewer", "developer", "owner"].map((r) => ({ value: r, label: r }))} />
        </Form.Item>
        <Button htmlType="submit">{t("add")}</Button>
      </Form>
      <Table
        rowKey="user_id"
        dataSource={data ?? []}
        columns={[
          { title: t("username"), dataIndex: "username" },
          { title: t("role"), dataIndex: "role" },
        ]}
      />
    </>
  );
}
