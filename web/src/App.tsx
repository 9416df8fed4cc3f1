import { WorkflowEditor } from "./pages/Workflows";
import { Component, type ReactNode, useEffect, useState } from "react";
import { BrowserRouter, Link, Navigate, Route, Routes, useLocation } from "react-router-dom";
import { App as AntApp, Button, ConfigProvider, Layout, Menu, Result, Space, Spin, Typography } from "antd";
import enUS from "antd/locale/en_US";
import zhCN from "antd/locale/zh_CN";
import { useTranslation } from "react-i18next";
import { api, me } from "./api";
import { toggleLanguage } from "./i18n";
import { Login } from "./pages/Login";
import { Projects } from "./pages/Projects";
import { Project } from "./pages/Project";
import { Studio } from "./pages/Studio";
import { JobDetail } from "./pages/JobDetail";
import { Clusters } from "./pages/Clusters";
import { Admin } from "./pages/Admin";

/** Shows a render error's message instead of a blank page. */
class ErrorBoundary extends Component<{ children: ReactNode }, { error?: Error }> {
  state: { error?: Error } = {};
  static getDerivedStateFromError(error: Error) {
    return { error };
  }
  render() {
    return this.state.error ? (
      <div data-testid="error-boundary">
        <Result status="error" title="scaleph" subTitle={this.state.error.message} extra={<Button onClick={() => location.reload()}>Reload</Button>} />
      </div>
    ) : (
      this.props.children
    );
  }
}

export function App() {
  const { i18n } = useTranslation();
  return (
    <ConfigProvider locale={i18n.language === "zh" ? zhCN : enUS}>
      <AntApp>
        <ErrorBoundary>
          <BrowserRouter>
            <Shell />
          </BrowserRouter>
        </ErrorBoundary>
      </AntApp>
    </ConfigProvider>
  );
}

function Shell() {
  const { t } = useTranslation();
  const [user, setUser] = useState<any | null | undefined>(undefined);
  const loc = useLocation();
  useEffect(() => {
    me().then((m) => setUser(m?.user ?? null), () => setUser(null));
  }, []);
  if (user === undefined) return <Spin style={{ margin: 80 }} />;
  if (user === null) return <Login onLogin={setUser} />;
  const section = loc.pathname.split("/")[1] || "projects";
  return (
    <Layout style={{ minHeight: "100vh" }}>
      <Layout.Header style={{ display: "flex", alignItems: "center", gap: 24 }}>
        <Typography.Title level={4} style={{ color: "#fff", margin: 0 }}>
          {t("appName")}
        </Typography.Title>
        <Menu
          theme="dark"
          mode="horizontal"
          selectedKeys={[section]}
          style={{ flex: 1 }}
          items={[
            { key: "projects", label: <Link to="/projects">{t("projects")}</Link> },
            { key: "clusters", label: <Link to="/clusters">{t("clusters")}</Link> },
            ...(user.role === "admin" ? [{ key: "admin", label: <Link to="/admin">{t("admin")}</Link> }] : []),
          ]}
        />
        <Space>
          <Typography.Text style={{ color: "#fff" }}>{user.username}</Typography.Text>
          <Button size="small" onClick={toggleLanguage} data-testid="lang">
            {t("language")}
          </Button>
          <Button
            size="small"
            onClick={async () => {
              await api("POST", "/api/v1/auth/logout").catch(() => undefined);
              setUser(null);
            }}
          >
            {t("signOut")}
          </Button>
        </Space>
      </Layout.Header>
      <Layout.Content style={{ padding: 24 }}>
        <Routes>
          <Route path="/" element={<Navigate to="/projects" />} />
          <Route path="/projects" element={<Projects />} />
          <Route path="/projects/:pid" element={<Project />} />
          <Route path="/projects/:pid/jobs/:jid" element={<Studio />} />
          <Route path="/projects/:pid/jobs/:jid/instances/:iid" element={<JobDetail />} />
          <Route path="/projects/:pid/workflows/:wid" element={<WorkflowEditor />} />
          <Route path="/clusters" element={<Clusters />} />
          <Route path="/admin" element={<Admin />} />
          <Route path="*" element={<Result status="404" title="404" />} />
        </Routes>
      </Layout.Content>
    </Layout>
  );
}
