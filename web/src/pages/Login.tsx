import { useState } from "react";
import { Alert, Button, Card, Form, Input } from "antd";
import { useTranslation } from "react-i18next";
import { login } from "../api";
import { toggleLanguage } from "../i18n";

export function Login({ onLogin }: { onLogin: (u: any) => void }) {
  const { t } = useTranslation();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  return (
    <Card title={`scaleph — ${t("signIn")}`} style={{ width: 380, margin: "120px auto" }} extra={<Button size="small" onClick={toggleLanguage}>{t("language")}</Button>}>
      {error && <Alert type="error" message={error} style={{ marginBottom: 16 }} data-testid="login-error" />}
      <Form
        layout="vertical"
        onFinish={async (v) => {
          setBusy(true);
          setError(undefined);
          try {
            onLogin(await login(v.username, v.password));
          } catch (e: any) {
            setError(e.message);
          } finally {
            setBusy(false);
          }
        }}
      >
        <Form.Item name="username" label={t("username")} rules={[{ required: true }]} initialValue="admin">
          <Input id="username" />
        </Form.Item>
        <Form.Item name="password" label={t("password")} rules={[{ required: true }]}>
          <Input.Password id="password" />
        </Form.Item>
        <Button type="primary" htmlType="submit" loading={busy} block>
          {t("signIn")}
        </Button>
      </Form>
    </Card>
  );
}
