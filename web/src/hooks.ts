import { useCallback, useEffect, useState } from "react";
import { api } from "./api";

/** Loads `path` (GET); `reload` fetches again. Errors are kept as the API's message. */
export function useApi<T = any>(path: string | null) {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<string>();
  const [loading, setLoading] = useState(false);
  const reload = useCallback(async () => {
    if (!path) return;
    setLoading(true);
    try {
      setData(await api<T>("GET", path));
      setError(undefined);
    } catch (e: any) {
      setError(e.message);
    } finally {
      setLoading(false);
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
