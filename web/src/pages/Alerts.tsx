// Alerts of a project: channels (with "send test"), rules, and the history of raised alerts
// with their deliveries (state, attempts, the receiver's answer) and a retry action.
import { useEffect, useState } from "react";
import { Alert, App, Button, Card, Form, Input, InputNumber, Modal, Select, Space, Switch, Table, Tag, Tooltip } from "antd";
import { useTranslation } from "react-i18next";
import { api } from "../api";
import { useAction, useApi } from "../hooks";

/** Configuration fields per channel kind; secrets are never shown back. */
const CHANNEL_FIELDS: Record<string, { key: string; secret?: boolean; required?: boolean; placeholder?: string }[]> = {
  webhook: [
    { key: "url", required: true, placeholder: "https://example.com/hooks/scaleph" },
    { key: "secret", secret: true, placeholder: "HMAC secret (optional)" },
  ],
  email: [
    { key: "host", required: true, placeholder: "smtp.example.com" },
    { key: "port", placeholder: "587" },
    { key: "security", placeholder: "starttls" },
    { key: "username" },
    { key: "password", secret: true },
    { key: "from", required: true, placeholder: "scaleph <alerts@example.com>" },
    { key: "to", required: true, placeholder: "a@example.com, b@example.com" },
  ],
  dingtalk: [
    { key: "url", secret: true, required: true, placeholder: "https://oapi.dingtalk.com/robot/send?access_token=…" },
    { key: "secret", secret: true, placeholder: "SEC… (optional)" },
  ],
  feishu: [
    { key: "url", secret: true, required: true, placeholder: "https://open.feishu.cn/open-apis/bot/v2/hook/…" },
    { key: "secret", secret: true, placeholder: "signature secret (optional)" },
  ],
  wecom: [{ key: "url", secret: true, required: true, placeholder: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…" }],
};

const RULE_KINDS = [
  "instance_failed",
  "instance_restarts",
  "instance_lost",
  "checkpoint_failed",
  "workflow_failed",
  "workflow_timeout",
  "schedule_missed",
];

const deliveryColor = (s: string) => ({ SENT: "green", PENDING: "gold", SENDING: "blue", FAILED: "red" } as any)[s] ?? "default";

/** Deletes `path` after a confirmation, then calls `done`. */
function DeleteButton({ path, run, done }: { path: string; run: (fn: () => Promise<unknown>) => Promise<void>; done: () => void }) {
  const { t } = useTranslation();
  return (
    <Button
      size="small"
      danger
      onClick={() =>
        Modal.confirm({
          title: t("confirm"),
          onOk: () =>
            run(async () => {
              await api("DELETE", path);
              done();
            }),
        })
      }
    >
      {t("delete")}
    </Button>
  );
}

export function Alerts({ pid }: { pid: string }) {
  // One list of channels: the rule form offers a channel as soon as it is created.
  const channels = useApi<any[]>(`/api/v1/projects/${pid}/alert-channels`);
  return (
    <Space direction="vertical" style={{ width: "100%" }} size="middle">
      <Channels pid={pid} list={channels} />
      <Rules pid={pid} channels={channels.data} />
      <History pid={pid} />
    </Space>
  );
}

function Channels({ pid, list }: { pid: string; list: ReturnType<typeof useApi<any[]>> }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const { data, error, reload } = list;
  const [kind, setKind] = useState("webhook");
  const [editing, setEditing] = useState<any>();
  const [err, run] = useAction();
  const [form] = Form.useForm();

  const toConfig = (v: any) => {
    const config: Record<string, unknown> = {};
    for (const f of CHANNEL_FIELDS[kind]) {
      const x = v[f.key];
      if (x === undefined || x === null || x === "") continue;
      if (f.key === "port") config.port = Number(x);
      else if (f.key === "to") config.to = String(x).split(",").map((s) => s.trim()).filter(Boolean);
      else config[f.key] = String(x);
    }
    return config;
  };
  const edit = (c: any) => {
    setEditing(c);
    setKind(c.kind);
    form.setFieldsValue({ name: c.name, ...c.config, to: Array.isArray(c.config.to) ? c.config.to.join(", ") : c.config.to });
  };
  return (
    <Card size="small" title={t("alertChannels")}>
      {(error || err) && <Alert type="error" message={error ?? err} style={{ marginBottom: 12 }} />}
      <Form
        form={form}
        layout="inline"
        style={{ marginBottom: 12, rowGap: 8 }}
        onFinish={async (v) => {
          await run(async () => {
            const body = { name: v.name, kind, config: toConfig(v) };
            if (editing) await api("PUT", `/api/v1/projects/${pid}/alert-channels/${editing.id}`, body);
            else await api("POST", `/api/v1/projects/${pid}/alert-channels`, body);
            form.resetFields();
            setEditing(undefined);
            reload();
          });
        }}
      >
        <Form.Item name="name" rules={[{ required: true }]}>
          <Input placeholder={t("name")} id="channel-name" />
        </Form.Item>
        <Form.Item>
          <Select
            value={kind}
            onChange={setKind}
            disabled={!!editing}
            style={{ width: 120 }}
            data-testid="channel-kind"
            options={Object.keys(CHANNEL_FIELDS).map((k) => ({ value: k, label: k }))}
          />
        </Form.Item>
        {CHANNEL_FIELDS[kind].map((f) => (
          <Form.Item key={f.key} name={f.key} rules={[{ required: !!f.required && !(editing && f.secret) }]}>
            {f.secret ? (
              <Input.Password
                placeholder={editing?.secrets_set?.includes(f.key) ? `${f.key} (${t("secretsKept")})` : f.placeholder ?? f.key}
                id={`channel-${f.key}`}
                style={{ width: 240 }}
              />
            ) : f.key === "port" ? (
              <InputNumber placeholder={f.placeholder ?? f.key} id={`channel-${f.key}`} min={1} max={65535} />
            ) : (
              <Input placeholder={f.placeholder ?? f.key} id={`channel-${f.key}`} style={{ width: f.key === "url" ? 320 : 200 }} />
            )}
          </Form.Item>
        ))}
        <Space>
          <Button htmlType="submit" type="primary" data-testid="save-channel">
            {editing ? t("save") : t("create")}
          </Button>
          {editing && (
            <Button
              onClick={() => {
                setEditing(undefined);
                form.resetFields();
              }}
            >
              {t("cancel")}
            </Button>
          )}
        </Space>
      </Form>
      <Table
        rowKey="id"
        size="small"
        pagination={false}
        dataSource={data ?? []}
        locale={{ emptyText: t("empty") }}
        columns={[
          { title: t("name"), dataIndex: "name" },
          { title: t("kind"), dataIndex: "kind", render: (k) => <Tag>{k}</Tag> },
          {
            title: t("properties"),
            render: (_, c: any) => (
              <Space size={4} wrap>
                <code>{JSON.stringify(c.config)}</code>
                {(c.secrets_set ?? []).map((s: string) => (
                  <Tag key={s} color="purple">
                    {s} ✓
                  </Tag>
                ))}
              </Space>
            ),
          },
          {
            title: "",
            render: (_, c: any) => (
              <Space>
                <Button
                  size="small"
                  data-testid={`test-channel-${c.name}`}
                  onClick={async () => {
                    try {
                      const r = await api("POST", `/api/v1/projects/${pid}/alert-channels/${c.id}/test`, {});
                      r.ok ? message.success(t("testSent", { d: r.detail })) : message.error(t("testFailed", { d: r.detail }));
                    } catch (e: any) {
                      message.error(e.message);
                    }
                  }}
                >
                  {t("sendTest")}
                </Button>
                <Button size="small" onClick={() => edit(c)}>
                  ✎
                </Button>
                <DeleteButton path={`/api/v1/projects/${pid}/alert-channels/${c.id}`} run={run} done={reload} />
              </Space>
            ),
          },
        ]}
      />
    </Card>
  );
}

function Rules({ pid, channels }: { pid: string; channels?: any[] }) {
  const { t } = useTranslation();
  const { data, error, reload } = useApi<any[]>(`/api/v1/projects/${pid}/alert-rules`);
  const { data: jobs } = useApi<any>(`/api/v1/projects/${pid}/jobs?page_size=500`);
  const { data: workflows } = useApi<any[]>(`/api/v1/projects/${pid}/workflows`);
  const [kind, setKind] = useState("instance_failed");
  const [err, run] = useAction();
  const [form] = Form.useForm();
  const aboutWorkflows = kind === "workflow_failed" || kind === "workflow_timeout";
  const scopes = [
    ...(aboutWorkflows ? [] : (jobs?.items ?? []).map((j: any) => ({ value: `job:${j.id}`, label: `${t("jobs")}: ${j.name}` }))),
    ...(kind.startsWith("instance") || kind === "checkpoint_failed"
      ? []
      : (workflows ?? []).map((w: any) => ({ value: `workflow:${w.id}`, label: `${t("workflows")}: ${w.name}` }))),
  ];
  const channelName = (id: string) => channels?.find((c) => c.id === id)?.name ?? id;
  const scopeName = (r: any) =>
    r.job_id
      ? `${t("jobs")}: ${jobs?.items?.find((j: any) => j.id === r.job_id)?.name ?? r.job_id}`
      : r.workflow_id
        ? `${t("workflows")}: ${workflows?.find((w) => w.id === r.workflow_id)?.name ?? r.workflow_id}`
        : aboutKind(r.kind);
  const aboutKind = (k: string) => (k === "workflow_failed" || k === "workflow_timeout" ? t("everyWorkflow") : t("everyJob"));
  const save = (r: any, patch: any) =>
    run(async () => {
      await api("PUT", `/api/v1/projects/${pid}/alert-rules/${r.id}`, {
        name: r.name,
        kind: r.kind,
        job_id: r.job_id ?? undefined,
        workflow_id: r.workflow_id ?? undefined,
        threshold: r.threshold ?? undefined,
        minutes: r.minutes ?? undefined,
        channels: r.channels,
        enabled: r.enabled,
        ...patch,
      });
      reload();
    });
  return (
    <Card size="small" title={t("alertRules")}>
      {(error || err) && <Alert type="error" message={error ?? err} style={{ marginBottom: 12 }} />}
      <Form
        form={form}
        layout="inline"
        style={{ marginBottom: 12, rowGap: 8 }}
        onFinish={async (v) => {
          await run(async () => {
            const [sk, sid] = (v.scope ?? "").split(":");
            await api("POST", `/api/v1/projects/${pid}/alert-rules`, {
              name: v.name,
              kind,
              job_id: sk === "job" ? sid : undefined,
              workflow_id: sk === "workflow" ? sid : undefined,
              threshold: kind === "instance_restarts" ? v.threshold ?? undefined : undefined,
              minutes: kind === "instance_restarts" || kind === "instance_lost" ? v.minutes ?? undefined : undefined,
              channels: v.channels ?? [],
            });
            form.resetFields();
            reload();
          });
        }}
      >
        <Form.Item name="name" rules={[{ required: true }]}>
          <Input placeholder={t("name")} id="rule-name" />
        </Form.Item>
        <Form.Item>
          <Select
            value={kind}
            onChange={(k) => {
              setKind(k);
              form.setFieldValue("scope", undefined);
            }}
            style={{ width: 260 }}
            data-testid="rule-kind"
            options={RULE_KINDS.map((k) => ({ value: k, label: t(`rk_${k}`) }))}
          />
        </Form.Item>
        <Form.Item name="scope">
          <Select allowClear placeholder={aboutKind(kind)} style={{ width: 220 }} options={scopes} data-testid="rule-scope" />
        </Form.Item>
        {kind === "instance_restarts" && (
          <Form.Item name="threshold">
            <InputNumber placeholder={t("threshold")} min={0} max={1000} style={{ width: 170 }} />
          </Form.Item>
        )}
        {(kind === "instance_restarts" || kind === "instance_lost") && (
          <Form.Item name="minutes">
            <InputNumber placeholder={t("minutes")} min={1} max={10080} />
          </Form.Item>
        )}
        <Form.Item name="channels" rules={[{ required: true }]}>
          <Select
            mode="multiple"
            placeholder={t("channels")}
            style={{ minWidth: 200 }}
            data-testid="rule-channels"
            options={(channels ?? []).map((c) => ({ value: c.id, label: `${c.name} (${c.kind})` }))}
          />
        </Form.Item>
        <Button htmlType="submit" type="primary" data-testid="create-rule">
          {t("create")}
        </Button>
      </Form>
      <Table
        rowKey="id"
        size="small"
        pagination={false}
        dataSource={data ?? []}
        locale={{ emptyText: t("empty") }}
        columns={[
          { title: t("name"), dataIndex: "name" },
          { title: t("kind"), dataIndex: "kind", render: (k) => t(`rk_${k}`) },
          { title: t("scope"), render: (_, r: any) => scopeName(r) },
          {
            title: "",
            render: (_, r: any) =>
              [r.threshold != null ? `> ${r.threshold}` : "", r.minutes != null ? `${r.minutes} min` : ""].filter(Boolean).join(", "),
          },
          { title: t("channels"), dataIndex: "channels", render: (cs: string[]) => cs.map((c) => <Tag key={c}>{channelName(c)}</Tag>) },
          {
            title: t("enabled"),
            dataIndex: "enabled",
            render: (e: boolean, r: any) => <Switch size="small" checked={e} onChange={(on) => save(r, { enabled: on })} />,
          },
          {
            title: "",
            render: (_, r: any) => <DeleteButton path={`/api/v1/projects/${pid}/alert-rules/${r.id}`} run={run} done={reload} />,
          },
        ]}
      />
    </Card>
  );
}

function History({ pid }: { pid: string }) {
  const { t } = useTranslation();
  const { data, error, reload } = useApi<any[]>(`/api/v1/projects/${pid}/alerts?limit=200`);
  const [err, run] = useAction();
  useEffect(() => {
    const h = setInterval(reload, 5000);
    return () => clearInterval(h);
  }, [reload]);
  return (
    <Card size="small" title={t("alertHistory")} extra={<Button size="small" onClick={reload}>{t("refresh")}</Button>}>
      {(error || err) && <Alert type="error" message={error ?? err} style={{ marginBottom: 12 }} />}
      <Table
        rowKey="id"
        size="small"
        dataSource={data ?? []}
        locale={{ emptyText: t("empty") }}
        data-testid="alert-history"
        expandable={{ expandedRowRender: (a: any) => <pre style={{ margin: 0 }}>{a.body}</pre> }}
        columns={[
          { title: t("time"), dataIndex: "created_at", render: (ms: number) => new Date(ms).toLocaleString() },
          { title: t("alertRules"), dataIndex: "rule_name" },
          { title: t("message"), dataIndex: "title" },
          {
            title: t("deliveries"),
            dataIndex: "deliveries",
            render: (ds: any[]) =>
              ds.map((d) => (
                <Tooltip key={d.channel_id} title={`${d.attempts} × — ${d.detail ?? ""}`}>
                  <Tag color={deliveryColor(d.state)}>
                    {d.channel_name}: {d.state}
                  </Tag>
                </Tooltip>
              )),
          },
          {
            title: "",
            render: (_, a: any) =>
              a.deliveries.some((d: any) => d.state === "FAILED") && (
                <Button
                  size="small"
                  onClick={() =>
                    run(async () => {
                      await api("POST", `/api/v1/projects/${pid}/alerts/${a.id}/retry`, {});
                      reload();
                    })
                  }
                >
                  {t("retry")}
                </Button>
              ),
          },
        ]}
      />
    </Card>
  );
}
