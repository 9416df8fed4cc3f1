import { useState } from "react";
import { Alert, Button, Card, Form, Input, Select, Space, Table, Tabs, Tag } from "antd";
import { useTranslation } from "react-i18next";
import { api } from "../api";
import { useAction, useApi } from "../hooks";

export function Admin() {
  const { t } = useTranslation();
  return (
    <Card title={t("admin")}>
      <Tabs items={[
        { key: "users", label: t("users"), children: <Users /> },
        { key: "tokens", label: t("tokens"), children: <Tokens /> },
        { key: "audit", label: t("audit"), children: <Audit /> },
      ]} />
    </Card>
  );
}

function Users() {
  const { t } = useTranslation();
  const { data, error, reload } = useApi<any>("/api/v1/users?page_size=500");
  const [err, run] = useAction();
  const [created, setCreated] = useState<string>();
  return (
    <>
      {(error || err) && <Alert type="error" message={error ?? err} style={{ marginBottom: 12 }} />}
      {created && <Alert type="success" message={created} style={{ marginBottom: 12 }} />}
      <Form layout="inline" style={{ marginBottom: 16 }} onFinish={async (v) => {
        await run(async () => {
          const r = await api("POST", "/api/v1/users", { username: v.username, role: v.role, password: v.password || undefined });
          setCreated(r.generated_password ? `${r.user.username}: ${r.generated_password}` : r.user.username);
          reload();
        });
      }}>
        <Form.Item name="username" rules={[{ required: true }]}><Input placeholder={t("username")} /></Form.Item>
        <Form.Item name="password"><Input.Password placeholder={t("password")} /></Form.Item>
        <Form.Item name="role" initialValue="user"><Select style={{ width: 100 }} options={[{ value: "user" }, { value: "admin" }]} /></Form.Item>
        <Button htmlType="submit" type="primary">{t("create")}</Button>
      </Form>
      <Table rowKey="id" dataSource={data?.items ?? []} columns={[
        { title: t("username"), dataIndex: "username" },
        { title: t("role"), dataIndex: "role", render: (r, u: any) => (
          <Select size="small" value={r} style={{ width: 100 }} options={[{ value: "user" }, { value: "admin" }]}
            onChange={async (role) => {
              await run(async () => {
                await api("PATCH", `/api/v1/users/${u.id}`, { role });
                reload();
              });
            }} />
        ) },
        { title: "id", dataIndex: "id", render: (v) => <code>{v}</code> },
        { title: "", dataIndex: "enabled", render: (e, u: any) => (
          <Button size="small" onClick={async () => {
            await run(async () => {
              await api("PATCH", `/api/v1/users/${u.id}`, { enabled: !e });
              reload();
            });
          }}>{e ? "disable" : "enable"}</Button>
        ) },
      ]} />
    </>
  );
}

function Audit() {
  const { t } = useTranslation();
  const [q, setQ] = useState<Record<string, string>>({});
  const params = new URLSearchParams({ page_size: "100", ...Object.fromEntries(Object.entries(q).filter(([, v]) => v)) });
  const { data, error } = useApi<any>(`/api/v1/audit?${params}`);
  return (
    <>
      {error && <Alert type="error" message={error} />}
      <Space style={{ marginBottom: 12 }}>
        <Input placeholder={t("actor")} onChange={(e) => setQ({ ...q, actor: e.target.value })} />
        <Input placeholder={t("action")} onChange={(e) => setQ({ ...q, action: e.target.value })} />
        <Select allowClear placeholder={t("outcome")} style={{ width: 120 }} onChange={(v) => setQ({ ...q, outcome: v ?? "" })}
          options={["success", "denied", "failed"].map((v) => ({ value: v }))} />
      </Space>
      <Table rowKey="id" size="small" dataSource={data?.items ?? []} columns={[
        { title: t("time"), dataIndex: "at", render: (v) => new Date(v).toLocaleString() },
        { title: t("actor"), dataIndex: "actor" },
        { title: t("action"), dataIndex: "action" },
        { title: t("target"), dataIndex: "target" },
        { title: t("outcome"), dataIndex: "outcome", render: (o, e: any) => <Tag color={o === "success" ? "green" : "red"}>{o} {e.status}</Tag> },
        { title: "IP", dataIndex: "source_ip" },
      ]} />
    </>
  );
}

function Tokens() {
  const { t } = useTranslation();
  const { data: users } = useApi<any>("/api/v1/users?page_size=500");
  const [uid, setUid] = useState<string>();
  const mine = !uid;
  const { data, error, reload } = useApi<any[]>(mine ? "/api/v1/me/tokens" : `/api/v1/users/${uid}/tokens`);
  const [err, run] = useAction();
  const [shown, setShown] = useState<string>();
  return (
    <>
      {(error || err) && <Alert type="error" message={error ?? err} style={{ marginBottom: 12 }} />}
      {shown && <Alert type="warning" message={<span>{t("tokens")}: <code data-testid="new-token">{shown}</code> (shown once)</span>} style={{ marginBottom: 12 }} />}
      <Space style={{ marginBottom: 12 }} wrap>
        <Select allowClear placeholder="me" style={{ width: 200 }} onChange={setUid}
          options={(users?.items ?? []).map((u: any) => ({ value: u.id, label: u.username }))} />
        {mine && (
          <Form layout="inline" onFinish={async (v) => {
            await run(async () => {
              const r = await api("POST", "/api/v1/me/tokens", { name: v.name, scopes: v.scopes, expires_in_days: 90 });
              setShown(r.token);
              reload();
            });
          }}>
            <Form.Item name="name" rules={[{ required: true }]}><Input placeholder={t("name")} /></Form.Item>
            <Form.Item name="scopes" initialValue={["read"]}>
              <Select mode="multiple" style={{ width: 260 }} options={["read", "write", "operate", "admin"].map((s) => ({ value: s }))} />
            </Form.Item>
            <Button htmlType="submit" type="primary">{t("create")}</Button>
          </Form>
        )}
      </Space>
      <Table rowKey="id" size="small" dataSource={data ?? []} locale={{ emptyText: t("empty") }} columns={[
        { title: t("name"), dataIndex: "name" },
        { title: "prefix", dataIndex: "prefix", render: (p) => <code>{p}…</code> },
        { title: "scopes", dataIndex: "scopes", render: (s: string[]) => s.map((x) => <Tag key={x}>{x}</Tag>) },
        { title: "expires", dataIndex: "expires_at", render: (v) => (v ? new Date(v).toLocaleDateString() : "—") },
        { title: "last used", dataIndex: "last_used_at", render: (v) => (v ? new Date(v).toLocaleString() : "—") },
        { title: "", render: (_, tok: any) => tok.revoked_at ? <Tag>revoked</Tag> : (
          <Button size="small" danger onClick={async () => {
            await run(async () => {
              await api("DELETE", mine ? `/api/v1/me/tokens/${tok.id}` : `/api/v1/users/${uid}/tokens/${tok.id}`);
              reload();
            });
          }}>revoke</Button>
        ) },
      ]} />
    </>
  );
}
