import { useCallback, useEffect, useRef, useState } from "react";
import { api } from "./api";

/** Loads `path` (GET); `reload` fetches again. Errors are kept as the API's message. Only the
 * latest request's answer is kept: an earlier, slower one (the first load racing a reload
 * after a create) never overwrites it. */
export function useApi<T = any>(path: string | null) {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<string>();
  const [loading, setLoading] = useState(false);
  const latest = useRef(0);
  const reload = useCallback(async () => {
    if (!path) return;
    const seq = ++latest.current;
    setLoading(true);
    try {
      const d = await api<T>("GET", path);
      if (seq !== latest.current) return;
      setData(d);
      setError(undefined);
    } catch (e: any) {
      if (seq !== latest.current) return;
      setError(e.message);
    } finally {
      if (seq === latest.current) setLoading(false);
    }
  }, [path]);
  useEffect(() => {
    reload();
  }, [reload]);
  return { data, error, loading, reload };
}

/** An action's error state: `run(fn)` clears the error, runs `fn`, and keeps the API's
 * message if it throws. */
export function useAction(): [string | undefined, (fn: () => Promise<unknown>) => Promise<void>] {
  const [err, setErr] = useState<string>();
  const run = useCallback(async (fn: () => Promise<unknown>) => {
    try {
      await fn();
      setErr(undefined);
    } catch (e: any) {
      setErr(e.message);
    }
  }, []);
  return [err, run];
}
