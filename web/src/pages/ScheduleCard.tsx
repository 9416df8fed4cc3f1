import { useEffect, useState } from "react";
import { Alert, Button, Card, Form, Input, Select, Space, Switch, Table, Tag } from "antd";
import { useTranslation } from "react-i18next";
import { api, ApiError } from "../api";
import { BackfillButton } from "./Backfill";

interface FireTime {
  at: number;
  local: string;
  bizdate: string;
}

/** Common IANA zones first; any other name can be typed. */
const ZONES = ["UTC", "Asia/Shanghai", "Asia/Tokyo", "Asia/Singapore", "Europe/Berlin", "Europe/London", "America/New_York", "America/Los_Angeles"];

/** The job's cron schedule: pattern, zone, policies and parameters, the next five fire times
 * (previewed while typing), save / pause / delete, and the fire history. */
export function ScheduleCard({ pid, jid }: { pid: string; jid: string }) {
  const { t } = useTranslation();
  const path = `/api/v1/projects/${pid}/jobs/${jid}/schedule`;
  const [form] = Form.useForm();
  const [saved, setSaved] = useState<any>();
  const [fires, setFires] = useState<any[]>([]);
  const [next, setNext] = useState<FireTime[]>([]);
  const [describe, setDescribe] = useState<string>();
  const [err, setErr] = useState<string>();
  const cron = Form.useWatch("cron", form);
  const timezone = Form.useWatch("timezone", form);

  const load = async () => {
    try {
      const s = await api("GET", path);
      setSaved(s);
      form.setFieldsValue({
        cron: s.cron, timezone: s.timezone, misfire: s.misfire, overlap: s.overlap, paused: s.paused,
        params: Object.entries(s.params ?? {}).map(([k, v]) => `${k}=${v}`).join("\n"),
      });
      setFires(await api("GET", `${path}/fires`));
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 404)) setErr((e as Error).message);
      setSaved(undefined);
    }
  };
  useEffect(() => {
    load();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [path]);

  // The next fire times of what is typed (debounced).
  useEffect(() => {
    if (!cron) {
      setNext([]);
      return;
    }
    const timer = setTimeout(async () => {
      try {
        const p = await api("POST", "/api/v1/schedules/preview", { cron, timezone: timezone || "UTC" });
        setNext(p.next_fires);
        setDescribe(p.description);
        setErr(undefined);
      } catch (e: any) {
        setNext([]);
        setDescribe(undefined);
        setErr(e.message);
      }
    }, 300);
    return () => clearTimeout(timer);
  }, [cron, timezone]);

  const save = async (paused?: boolean) => {
    const v = await form.validateFields();
    const params: Record<string, string> = {};
    for (const line of String(v.params ?? "").split("\n").map((l: string) => l.trim()).filter(Boolean)) {
      const i = line.indexOf("=");
      if (i <= 0) throw new Error(`${t("paramsHelp")}: ${line}`);
      params[line.slice(0, i).trim()] = line.slice(i + 1).trim();
    }
    const body = {
      cron: v.cron, timezone: v.timezone || "UTC", misfire: v.misfire, overlap: v.overlap,
      paused: paused ?? !!v.paused, params,
    };
    try {
      await api("PUT", path, body);
      setErr(undefined);
      await load();
    } catch (e: any) {
      setErr(e.message);
    }
  };

  return (
    <Card title={t("schedule")} size="small" style={{ marginTop: 16 }} data-testid="schedule"
      extra={saved && (saved.paused ? <Tag color="orange">{t("paused")}</Tag> : <Tag color="green">{t("active")}</Tag>)}>
      {err && <Alert type="error" message={err} style={{ marginBottom: 8 }} data-testid="schedule-error" />}
      <Form form={form} layout="vertical" size="small"
        initialValues={{ timezone: "UTC", misfire: "fire_once", overlap: "skip", paused: false }}>
        <Form.Item name="cron" label={t("cron")} rules={[{ required: true }]} extra={describe}>
          <Input placeholder="30 2 * * *  ·  0 0 9 ? * 2-6" data-testid="schedule-cron" />
        </Form.Item>
        <Form.Item name="timezone" label={t("timezone")}>
          <Select showSearch options={ZONES.map((z) => ({ value: z, label: z }))} data-testid="schedule-tz" />
        </Form.Item>
        <Space>
          <Form.Item name="misfire" label={t("misfire")}>
            <Select style={{ width: 120 }} options={[{ value: "fire_once", label: t("fireOnce") }, { value: "skip", label: t("skipMissed") }]} />
          </Form.Item>
          <Form.Item name="overlap" label={t("overlap")}>
            <Select style={{ width: 110 }} options={[{ value: "skip", label: t("skipOverlap") }, { value: "queue", label: t("queue") }, { value: "allow", label: t("allow") }]} />
          </Form.Item>
        </Space>
        <Form.Item name="params" label={t("params")} extra={t("paramsHelp")}>
          <Input.TextArea rows={2} placeholder="region=eu" />
        </Form.Item>
      </Form>
      <div data-testid="next-fires" style={{ marginBottom: 8 }}>
        <b>{t("nextFires")}</b>
        {next.map((f) => (
          <div key={f.at}><code>{f.local}</code> <small>bizdate {f.bizdate}</small></div>
        ))}
      </div>
      <Space wrap>
        <Button type="primary" data-testid="schedule-save" onClick={() => save().catch((e) => setErr(e.message))}>{t("saveSchedule")}</Button>
        {saved && (
          <Button data-testid="schedule-pause" onClick={() => save(!saved.paused).catch((e) => setErr(e.message))}>
            {saved.paused ? t("resume") : t("pause")}
          </Button>
        )}
        {saved && (
          <Button danger onClick={async () => {
            try {
              await api("DELETE", path);
              setSaved(undefined);
              setFires([]);
              form.resetFields();
            } catch (e: any) {
              setErr(e.message);
            }
          }}>{t("delete")}</Button>
        )}
        {saved && <Button onClick={load}>{t("refresh")}</Button>}
        <BackfillButton path={path.replace(/\/schedule$/, "/backfills")} />
      </Space>
      {saved && (
        <Table
          style={{ marginTop: 8 }}
          size="small"
          rowKey="fire_at"
          data-testid="fires"
          dataSource={fires}
          pagination={{ pageSize: 8 }}
          locale={{ emptyText: t("empty") }}
          columns={[
            { title: t("time"), dataIndex: "fire_at", render: (v: number) => new Date(v).toLocaleString() },
            { title: "bizdate", dataIndex: "bizdate" },
            { title: t("state"), dataIndex: "state", render: (s: string, f: any) => <span title={f.reason ?? ""}><Tag>{s}</Tag></span> },
          ]}
        />
      )}
    </Card>
  );
}
