import { useState } from "react";
import { Link } from "react-router-dom";
import { Alert, Button, Card, Form, Input, Modal, Table } from "antd";
import { useTranslation } from "react-i18next";
import { api } from "../api";
import { useApi } from "../hooks";

export function Projects() {
  const { t } = useTranslation();
  const { data, error, loading, reload } = useApi<any>("/api/v1/projects?page_size=500");
  const [open, setOpen] = useState(false);
  const [formError, setFormError] = useState<string>();
  return (
    <Card title={t("projects")} extra={<Button type="primary" onClick={() => setOpen(true)} data-testid="new-project">{t("newProject")}</Button>}>
      {error && <Alert type="error" message={error} />}
      <Table
        rowKey="id"
        loading={loading}
        dataSource={data?.items ?? []}
        locale={{ emptyText: t("empty") }}
        columns={[
          { title: t("name"), dataIndex: "name", render: (n, p: any) => <Link to={`/projects/${p.id}`}>{n}</Link> },
          { title: t("description"), dataIndex: "description" },
        ]}
      />
      <Modal title={t("newProject")} open={open} footer={null} onCancel={() => setOpen(false)} destroyOnHidden>
        {formError && <Alert type="error" message={formError} style={{ marginBottom: 12 }} />}
        <Form
          layout="vertical"
          onFinish={async (v) => {
            try {
              await api("POST", "/api/v1/projects", { name: v.name, description: v.description ?? "" });
              setOpen(false);
              setFormError(undefined);
              reload();
            } catch (e: any) {
              setFormError(e.message);
            }
          }}
        >
          <Form.Item name="name" label={t("name")} rules={[{ required: true }]}>
            <Input id="project-name" />
          </Form.Item>
          <Form.Item name="description" label={t("description")}>
            <Input />
          </Form.Item>
          <Button type="primary" htmlType="submit" data-testid="create-project">{t("create")}</Button>
        </Form>
      </Modal>
    </Card>
  );
}
