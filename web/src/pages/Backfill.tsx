import { useState } from "react";
import { Alert, Button, DatePicker, InputNumber, Modal, Space } from "antd";
import type { Dayjs } from "dayjs";
import { useTranslation } from "react-i18next";
import { api } from "../api";

/** A "Backfill" button and its dialog: a range of business dates and how many runs at a time,
 * posted to `path` (a job's or a workflow's `/backfills`). */
export function BackfillButton({ path, onDone }: { path: string; onDone?: () => void }) {
  const { t } = useTranslation();
  const [open, setOpen] = useState(false);
  const [range, setRange] = useState<[Dayjs | null, Dayjs | null] | null>(null);
  const [parallelism, setParallelism] = useState(1);
  const [err, setErr] = useState<string>();
  const [ok, setOk] = useState<string>();
  const submit = async () => {
    setErr(undefined);
    if (!range?.[0] || !range?.[1]) {
      setErr(t("pickDates"));
      return;
    }
    try {
      const b = await api("POST", path, {
        from: range[0].format("YYYY-MM-DD"), to: range[1].format("YYYY-MM-DD"), parallelism,
      });
      setOk(t("backfillCreated", { n: b.runs.length }));
      onDone?.();
    } catch (e: any) {
      setErr(e.message);
    }
  };
  return (
    <>
      <Button data-testid="backfill" onClick={() => { setOpen(true); setOk(undefined); setErr(undefined); }}>{t("backfill")}</Button>
      <Modal title={t("backfill")} open={open} onCancel={() => setOpen(false)} onOk={submit} okText={t("runBackfill")} destroyOnHidden>
        <Space direction="vertical" style={{ width: "100%" }}>
          <span>{t("backfillHelp")}</span>
          <DatePicker.RangePicker value={range as any} onChange={(v) => setRange(v as any)} data-testid="backfill-range" />
          <Space>{t("parallelism")}<InputNumber min={1} max={8} value={parallelism} onChange={(v) => setParallelism(Number(v ?? 1))} /></Space>
          {err && <Alert type="error" message={err} />}
          {ok && <Alert type="success" message={ok} data-testid="backfill-ok" />}
        </Space>
      </Modal>
    </>
  );
}
