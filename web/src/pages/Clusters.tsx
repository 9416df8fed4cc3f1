import { Alert, Button, Card, Form, Input, Table, Tag } from "antd";
import { useTranslation } from "react-i18next";
import { api } from "../api";
import { useAction, useApi } from "../hooks";

export function Clusters() {
  const { t } = useTranslation();
  const { data, error, reload } = useApi<any[]>("/api/v1/clusters");
  const [err, run] = useAction();
  return (
    <Card title={t("clusters")}>
      {(error || err) && <Alert type="error" message={error ?? err} style={{ marginBottom: 12 }} />}
      <Form layout="inline" style={{ marginBottom: 16 }} onFinish={async (v) => {
        await run(async () => {
          await api("POST", "/api/v1/clusters", { name: v.name, rest_url: v.rest_url, savepoint_dir: v.savepoint_dir || undefined });
          reload();
        });
      }}>
        <Form.Item name="name" rules={[{ required: true }]}><Input placeholder={t("name")} /></Form.Item>
        <Form.Item name="rest_url" rules={[{ required: true }]}><Input placeholder="http://jobmanager:8081" style={{ width: 240 }} /></Form.Item>
        <Form.Item name="savepoint_dir"><Input placeholder="file:///savepoints" /></Form.Item>
        <Button htmlType="submit" type="primary">{t("register")}</Button>
      </Form>
      <Table rowKey="id" dataSource={data ?? []} locale={{ emptyText: t("empty") }} columns={[
        { title: t("name"), dataIndex: "name" },
        { title: "URL", dataIndex: "rest_url" },
        { title: "Flink", dataIndex: "flink_version" },
        { title: t("health"), render: (_, c: any) => <span><Tag color={c.health === "UP" ? "green" : "red"}>{c.health}</Tag>{c.health_reason} {c.health_since && <small>since {new Date(c.health_since).toLocaleString()}</small>}</span> },
      ]} />
    </Card>
  );
}
