// REST client of the scaleph API: cookie session + X-CSRF-Token on unsafe methods; problem+json
// errors become ApiError with the API's own message (and line/column for SQL errors).

export class ApiError extends Error {
  status: number;
  line?: number;
  column?: number;
  constructor(status: number, message: string, line?: number, column?: number) {
    super(message);
    this.status = status;
    this.line = line;
    this.column = column;
  }
}

let csrf = sessionStorage.getItem("csrf") ?? "";

export function setCsrf(token: string) {
  csrf = token;
  sessionStorage.setItem("csrf", token);
}

export async function api<T = any>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers["content-type"] = "application/json";
  if (method !== "GET" && csrf) headers["x-csrf-token"] = csrf;
  const r = await fetch(path, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  const data = text ? safeJson(text) : null;
  if (!r.ok) {
    const d = data as any;
    throw new ApiError(r.status, d?.detail ?? `${r.status} ${r.statusText}`, d?.line, d?.column);
  }
  return data as T;
}

/**
 * POSTs `body` to an endpoint answering Server-Sent Events and calls `onEvent(name, data)` for
 * each event as it arrives (data parsed as JSON), until the stream ends or `signal` aborts it.
 * An `error` event or a non-2xx answer throws ApiError (with line/column for SQL errors).
 */
export async function stream(
  path: string,
  body: unknown,
  signal: AbortSignal,
  onEvent: (name: string, data: any) => void,
): Promise<void> {
  const headers: Record<string, string> = { "content-type": "application/json", accept: "text/event-stream" };
  if (csrf) headers["x-csrf-token"] = csrf;
  const r = await fetch(path, { method: "POST", headers, credentials: "same-origin", body: JSON.stringify(body), signal });
  if (!r.ok || !r.body) {
    const d = safeJson(await r.text()) as any;
    throw new ApiError(r.status, d?.detail ?? `${r.status} ${r.statusText}`, d?.line, d?.column);
  }
  const reader = r.body.getReader();
  const decoder = new TextDecoder();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += decoder.decode(value, { stream: true });
    let cut: number;
    while ((cut = buf.indexOf("\n\n")) >= 0) {
      const block = buf.slice(0, cut);
      buf = buf.slice(cut + 2);
      let name = "message";
      const data: string[] = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length === 0) continue;
      const parsed = safeJson(data.join("\n")) as any;
      if (name === "error") throw new ApiError(parsed?.status ?? 422, parsed?.detail ?? "error", parsed?.line, parsed?.column);
      onEvent(name, parsed);
    }
  }
}

function safeJson(t: string): unknown {
  try {
    return JSON.parse(t);
  } catch {
    return t;
  }
}

/** Signs in; remembers the CSRF token of the session. */
export async function login(username: string, password: string) {
  const r = await api<{ csrf_token: string; user: any }>("POST", "/api/v1/auth/login", { username, password });
  setCsrf(r.csrf_token);
  return r.user;
}

/** The current session's user, refreshing the CSRF token; null when signed out. */
export async function me(): Promise<any | null> {
  try {
    const m = await api("GET", "/api/v1/me");
    if (m.csrf_token) setCsrf(m.csrf_token);
    return m;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return null;
    throw e;
  }
}
