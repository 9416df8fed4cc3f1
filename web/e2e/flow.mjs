// End-to-end flow in real Chromium (Debian's /usr/bin/chromium) against a running
// `scaleph serve`: sign in, create a project and a filesystem datasource, write a SQL job with
// a deliberate error and check the marker's line, fix it, preview rows, save, submit, see it
// FINISHED with metrics, read its logs; then the job-instance page of a finished, a running
// (then cancelled) and a failed run, each right after Submit, opened by URL in a new tab and
// reloaded; other pages; switch the language. The whole flow runs $RUNS times, each in a fresh
// browser context with its own project, because a crash of the instance page can depend on
// timing. Any uncaught page error or console error (React reports errors caught by the error
// boundary there) fails the flow. Screenshots (of the last run) go to $SHOTS.
//
// Env: BASE (server URL), PASSWORD (admin's), DATA (a directory with people/part-0.csv, inside
// the server's allowed file roots), SHOTS, RUNS (default 1).
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";

const { BASE, PASSWORD, DATA, SHOTS = "e2e/screenshots", HOOK_URL, HOOK_SECRET } = process.env;
const RUNS = Number(process.env.RUNS ?? "1");
if (!BASE || !PASSWORD || !DATA) throw new Error("BASE, PASSWORD and DATA must be set");
if (!(RUNS >= 1)) throw new Error("RUNS must be a positive number");
mkdirSync(SHOTS, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const step = (s) => console.log(`e2e: ${s}`);
const fail = (m) => { throw new Error(m); };

/** One run of the whole flow in a fresh browser context; `run` numbers its project. */
async function flow(run) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  // Errors of every page of this context: uncaught exceptions, and console errors other than
  // the browser's own note on a failed HTTP request (the flow provokes 401 and 422 on purpose)
  // and antd's deprecation notes (development builds only, under `npm run dev`).
  const errors = [];
  ctx.on("page", (p) => {
    p.on("pageerror", (e) => errors.push(`${p.url()}: uncaught ${e.stack ?? e.message}`));
    p.on("console", (m) => {
      if (m.type() === "error" && !/^(Failed to load resource|Warning: \[antd: )/.test(m.text())) {
        errors.push(`${p.url()}: console error: ${m.text()}`);
      }
    });
  });
  // Requests of this context, for the failure report: those still in flight and the last
  // ones answered (a step that waits in vain shows whether its request left, and how it ended).
  const inFlight = new Map();
  const answered = [];
  ctx.on("request", (r) => inFlight.set(r, Date.now()));
  const settled = (how) => (r) => {
    const at = inFlight.get(r);
    inFlight.delete(r);
    answered.push(`${r.method()} ${r.url()} ${how(r)} after ${at ? Date.now() - at : "?"} ms`);
    if (answered.length > 40) answered.shift();
  };
  ctx.on("requestfinished", settled(() => "answered"));
  ctx.on("requestfailed", settled((r) => `failed (${r.failure()?.errorText})`));
  const requestReport = () =>
    [
      "requests in flight:",
      ...[...inFlight].map(([r, at]) => `  ${r.method()} ${r.url()} for ${Date.now() - at} ms`),
      "last requests settled:",
      ...answered.map((a) => `  ${a}`),
    ].join("\n");
  const page = await ctx.newPage();
  const shot = (name, p = page) => p.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });
  const clean = (where) => {
    if (errors.length) fail(`${where}: the page reported errors:\n${errors.join("\n")}`);
  };

  /** Waits until `p`'s instance page shows `state`, failing at once if the error boundary
   * replaced the page; then `settle(p)` waits for what must follow (logs, error text) and the
   * page must still be there, with no error reported. */
  const seeState = async (p, state, where, settle) => {
    const boundary = p.getByTestId("error-boundary");
    const shown = p.getByTestId("state").getByText(state, { exact: true });
    await shown.or(boundary).first().waitFor({ timeout: 60000 });
    if (await boundary.count()) fail(`${where}: the error boundary replaced the page: ${await boundary.innerText()}`);
    if (settle) await settle(p);
    if (await boundary.count()) fail(`${where}: the error boundary replaced the page: ${await boundary.innerText()}`);
    if (!(await shown.isVisible())) fail(`${where}: the page no longer shows ${state}`);
    clean(where);
    step(`${where}: ${state}`);
  };
  /** The instance at `url` opened in a new tab (a bookmark or a link), then reloaded. */
  const openByUrl = async (url, state, what, settle) => {
    const p = await ctx.newPage();
    await p.goto(url);
    await seeState(p, state, `${what} opened by URL`, settle);
    await p.reload();
    await seeState(p, state, `${what} reloaded`, settle);
    return p;
  };
  /** Clicks the instance page's action `label` and confirms it in the dialog it opens. */
  const confirmAction = async (p, label) => {
    await p.getByTestId(`action-${label}`).click();
    const dialog = p.locator(".ant-modal-confirm");
    await dialog.getByRole("button", { name: "OK" }).click();
    await dialog.waitFor({ state: "hidden" });
  };
  const logs = (p) => p.getByTestId("logs");
  /** Waits until the page shows the run's first log line and its rows read growing: the page
   * re-renders with new logs and live metrics. */
  const liveRun = async (p) => {
    await logs(p).getByText("embedded engine").waitFor({ timeout: 30000 });
    const sourceRows = () => {
      const row = [...document.querySelectorAll("[data-testid=metrics] tbody tr")]
        .find((tr) => tr.children[1]?.textContent === "source");
      return row ? Number(row.children[2].textContent) : -1;
    };
    const first = await p.evaluate(sourceRows);
    await p.waitForFunction(`(${sourceRows})() > ${first}`, undefined, { timeout: 30000 });
  };
  const project = `e2e-${run}-${Date.now().toString(36)}`;
  let projectUrl;
  /** A new job of this run's project with `script`, saved as version 2 and submitted; the
   * browser is then on the new instance's page. */
  const newJob = async (script) => {
    await page.goto(projectUrl); // a fresh document: no editor of an earlier job is left
    await page.getByRole("tab", { name: "Jobs" }).click();
    await page.getByTestId("new-job").click();
    await page.getByTestId("editor").waitFor();
    await page.waitForFunction(() => window.scalephEditor);
    await page.evaluate((s) => window.scalephEditor.setValue(s), script);
    await page.getByTestId("save").click();
    await page.getByText("Saved version 2").waitFor();
    await page.getByTestId("submit").click();
    await page.waitForURL(/\/instances\//);
    return page.url();
  };

  try {
    await page.goto(BASE);
    await page.waitForSelector("#password");
    await shot("01-login");
    step("wrong password shows the API's message");
    await page.fill("#username", "admin");
    await page.fill("#password", "not-the-password");
    await page.click("button[type=submit]");
    await page.getByTestId("login-error").getByText("invalid user name or password").waitFor();
    step("sign in");
    await page.fill("#password", PASSWORD);
    await page.click("button[type=submit]");
    await page.getByTestId("new-project").waitFor();

    step(`create project ${project}`);
    await page.getByTestId("new-project").click();
    // The modal opens with an animation; make sure the name is really in the field before
    // submitting (under load a fill during the animation can be lost).
    for (let i = 0; (await page.inputValue("#project-name")) !== project; i++) {
      if (i === 20) throw new Error("the project name field does not keep its value");
      await page.fill("#project-name", project);
    }
    // Under load a click right after the fill can be lost (no request was sent): wait for the
    // POST and click again if none came.
    for (let i = 0; ; i++) {
      const posted = page
        .waitForRequest((r) => r.method() === "POST" && r.url().endsWith("/api/v1/projects"), {
          timeout: 5000,
        })
        .catch(() => null);
      await page.getByTestId("create-project").click();
      if (await posted) break;
      if (i === 3) throw new Error("Create does not send the project");
    }
    await page.getByRole("link", { name: project, exact: true }).click();
    await page.getByRole("tab", { name: "Datasources" }).waitFor();
    projectUrl = page.url();
    await shot("02-project");

    step("create a filesystem datasource");
    await page.getByRole("tab", { name: "Datasources" }).click();
    await page.fill("#ds-name", "files");
    await page.fill("#ds-path", DATA);
    await page.getByTestId("create-datasource").click();
    await page.getByRole("cell", { name: "files", exact: true }).waitFor();

    step("alerts: a signed webhook channel, its send test, a rule on failed runs");
    await page.getByRole("tab", { name: "Alerts" }).click();
    await page.fill("#channel-name", "ops");
    await page.fill("#channel-url", HOOK_URL);
    await page.fill("#channel-secret", HOOK_SECRET);
    await page.getByTestId("save-channel").click();
    await page.getByRole("cell", { name: "ops", exact: true }).waitFor();
    await page.getByTestId("test-channel-ops").click();
    await page.getByText("Delivered: HTTP 200").waitFor({ timeout: 20000 });
    await page.fill("#rule-name", "failed runs");
    await page.getByTestId("rule-channels").click();
    await page.locator(".ant-select-item-option", { hasText: "ops (webhook)" }).click();
    await page.keyboard.press("Escape");
    await page.getByTestId("create-rule").click();
    await page.getByRole("cell", { name: "failed runs", exact: true }).waitFor();

    step("new SQL job");
    await page.getByRole("tab", { name: "Jobs" }).click();
    await page.getByTestId("new-job").click();
    await page.getByTestId("editor").waitFor();
    await page.waitForFunction(() => window.scalephEditor);
    const firstJobId = page.url().split("/jobs/")[1];
    const setScript = (s) => page.evaluate((s) => window.scalephEditor.setValue(s), s);
    step("completion offers the datasource's tables and the script's columns");
    const suggestAt = async (line2, expected) => {
      await setScript(`CREATE TABLE t (amount BIGINT) WITH ('connector' = 'datagen');\n${line2}`);
      await page.evaluate((col) => {
        const ed = window.scalephEditor;
        ed.focus();
        ed.setPosition({ lineNumber: 2, column: col });
        ed.trigger("e2e", "editor.action.triggerSuggest", {});
      }, line2.length + 1);
      await page.locator(".suggest-widget").getByText(expected, { exact: true }).waitFor();
      await page.keyboard.press("Escape");
    };
    await suggestAt("SELECT am", "amount");
    await suggestAt("SELECT * FROM peo", "people");
    const ddl = `CREATE TABLE people (id BIGINT, name STRING, age INT) WITH ('connector' = 'filesystem', 'path' = '${DATA}/people', 'format' = 'csv');`;
    await setScript(`${ddl}\n\nSELECT id, nmae FROM people;`);
    await page.getByTestId("validate").click();
    await page.getByTestId("problem").waitFor();
    const markers = await page.waitForFunction(() => {
      const m = window.scalephMonaco.editor.getModelMarkers({ owner: "scaleph" });
      return m.length ? m : null;
    });
    const marker = (await markers.jsonValue())[0];
    step(`marker at ${marker.startLineNumber}:${marker.startColumn}: ${marker.message}`);
    if (marker.startLineNumber !== 3) fail(`marker on line ${marker.startLineNumber}, expected 3`);
    await page.locator(".squiggly-error").first().waitFor();
    await shot("03-studio-error");

    step("fix it and preview");
    await setScript(`${ddl}\n\nSELECT id, name, age FROM people ORDER BY id LIMIT 10;`);
    await page.getByTestId("validate").click();
    await page.getByTestId("valid").waitFor();
    const left = await page.evaluate(() => window.scalephMonaco.editor.getModelMarkers({ owner: "scaleph" }).length);
    if (left !== 0) fail("markers left after the fix");
    await page.getByTestId("preview").click();
    await page.getByTestId("preview-grid").getByText("carol").waitFor();
    await page.getByTestId("preview-grid").getByText("BIGINT").first().waitFor();
    await shot("04-studio-preview");

    step("live preview of a streaming query: rows as they come, with their kinds, until Stop");
    await setScript(`CREATE TABLE ticks (id BIGINT) WITH ('connector' = 'datagen', 'rows-per-second' = '4', 'fields.id.kind' = 'sequence', 'fields.id.start' = '1', 'fields.id.end' = '100000');\nSELECT id FROM ticks;`);
    await page.getByTestId("preview").click();
    const grid = page.getByTestId("preview-grid");
    await grid.getByRole("cell", { name: "1", exact: true }).waitFor();
    await grid.getByText("+I").first().waitFor();
    await page.getByTestId("preview-stop").click();
    await page.getByTestId("preview-stop").waitFor({ state: "detached" });
    const shown = await grid.locator("tbody tr").count();
    await page.waitForTimeout(1000);
    if ((await grid.locator("tbody tr").count()) !== shown) fail("rows kept coming after Stop");
    await shot("04b-studio-live-preview");

    step("a changelog preview: updates applied to the grid");
    await setScript(`${ddl}\nSELECT COUNT(*) AS n FROM people;`);
    await page.getByTestId("preview").click();
    await grid.getByRole("cell", { name: "3", exact: true }).waitFor();
    if ((await grid.locator("tbody tr").count()) !== 1) fail("the count's updates left more than one row");

    step("a schedule: next fire times while typing, saved, then deleted");
    await page.getByTestId("schedule-cron").fill("30 2 * * *");
    await page.getByTestId("next-fires").locator("code").nth(4).waitFor();
    await page.getByTestId("schedule-save").click();
    await page.getByTestId("schedule").getByText("Active").waitFor();
    await page.getByTestId("schedule").getByRole("button", { name: "Delete" }).click();
    await page.getByTestId("schedule-pause").waitFor({ state: "detached" });
    step("a backfill of three business dates from the dialog");
    await page.getByTestId("backfill").click();
    const range = page.locator(".ant-modal .ant-picker-range input");
    await range.first().click();
    await range.first().fill("2026-05-01");
    await page.keyboard.press("Enter");
    await range.nth(1).fill("2026-05-03");
    await page.keyboard.press("Enter");
    await page.locator(".ant-modal").getByRole("button", { name: "Run" }).click();
    await page.getByTestId("backfill-ok").getByText("Backfill of 3 dates started").waitFor();
    await page.locator(".ant-modal").getByRole("button", { name: "Cancel" }).click();

    step("save and submit");
    await setScript(`${ddl}\nCREATE TABLE out (id BIGINT, name STRING) WITH ('connector' = 'print');\nINSERT INTO out SELECT id, name FROM people;`);
    await page.getByTestId("save").click();
    await page.getByText("Saved version 2").waitFor();
    await page.getByTestId("submit").click();
    const finishedLogs = (p) => logs(p).getByText("+I[1, alice]").waitFor({ timeout: 30000 });
    await seeState(page, "FINISHED", "finished run right after Submit", async (p) => {
      await p.getByTestId("metrics").getByRole("cell", { name: "sink" }).waitFor();
      await finishedLogs(p);
    });
    const finished = page.url();
    await shot("05-job-detail");
    await (await openByUrl(finished, "FINISHED", "finished run", finishedLogs)).close();

    step("a running run: right after Submit, by URL, reloaded, then cancelled");
    // About 2000 s at 5000 rows/s, in batches the engine passes on every few seconds.
    await newJob(`CREATE TABLE slow (id BIGINT) WITH ('connector' = 'datagen', 'number-of-rows' = '10000000', 'rows-per-second' = '5000');
CREATE TABLE out (id BIGINT) WITH ('connector' = 'blackhole');
INSERT INTO out SELECT id FROM slow;`);
    await seeState(page, "RUNNING", "running run right after Submit", liveRun);
    const running = page.url();
    const tab = await openByUrl(running, "RUNNING", "running run", liveRun);
    await tab.getByTestId("operators").getByRole("cell", { name: "TableSourceScan", exact: true }).waitFor({ timeout: 30000 });
    await shot("05b-job-running", tab);
    step("a savepoint of the running embedded run");
    await tab.getByTestId("action-Trigger savepoint").click();
    await tab.getByTestId("savepoints").getByText("COMPLETED").first().waitFor({ timeout: 30000 });
    await confirmAction(tab, "Cancel");
    await seeState(tab, "CANCELED", "running run cancelled");
    await tab.reload();
    await seeState(tab, "CANCELED", "cancelled run reloaded");
    await tab.close();
    await seeState(page, "CANCELED", "cancelled run on the Submit tab");

    step("a failed run: right after Submit, by URL, reloaded");
    await newJob(`${ddl}\nCREATE TABLE out (id BIGINT, n INT) WITH ('connector' = 'print');\nINSERT INTO out SELECT id, CAST(name AS INT) FROM people;`);
    const failedError = (p) => p.locator(".ant-descriptions").getByText("alice").waitFor({ timeout: 30000 });
    await seeState(page, "FAILED", "failed run right after Submit", failedError);
    await shot("05c-job-failed");
    await (await openByUrl(page.url(), "FAILED", "failed run", failedError)).close();

    step("the failed run's alert in the history, delivered on the channel");
    await page.goto(projectUrl);
    await page.getByRole("tab", { name: "Alerts" }).click();
    await page.getByTestId("alert-history").getByText("ops: SENT").first().waitFor({ timeout: 30000 });
    await page.getByTestId("alert-history").getByText("Job instance FAILED").first().waitFor();
    await shot("10-alerts");

    step("a workflow of three tasks: built in the editor, saved, run, succeeded");
    const firstJob = await page.evaluate(async ([base, id]) => {
      const pid = location.pathname.split("/")[2];
      const r = await fetch(`${base}/api/v1/projects/${pid}/jobs/${id}`);
      return (await r.json()).name;
    }, [BASE, firstJobId]);
    await page.goto(projectUrl);
    await page.getByRole("tab", { name: "Workflows" }).click();
    await page.getByTestId("workflow-name").fill("nightly");
    await page.getByTestId("new-workflow").click();
    const palette = page.getByTestId("palette");
    for (let i = 0; i < 3; i++) await palette.getByTestId(`add-${firstJob}`).click();
    const nodes = page.locator(".react-flow__node");
    if ((await nodes.count()) !== 3) fail(`${await nodes.count()} tasks after adding three`);
    const ids = await nodes.evaluateAll((ns) => ns.map((n) => n.getAttribute("data-id")));
    const connect = async (from, to) => {
      await page.locator(`.react-flow__node[data-id="${from}"] .react-flow__handle-right`).hover();
      await page.mouse.down();
      const b = await page.locator(`.react-flow__node[data-id="${to}"] .react-flow__handle-left`).boundingBox();
      await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2, { steps: 8 });
      await page.mouse.up();
    };
    await connect(ids[0], ids[1]);
    await connect(ids[1], ids[2]);
    await page.waitForFunction(() => document.querySelectorAll(".react-flow__edge").length === 2);
    // A cycle is refused in the editor.
    await connect(ids[2], ids[0]);
    await page.getByTestId("wf-error").waitFor();
    if ((await page.locator(".react-flow__edge").count()) !== 2) fail("the cycle's edge was added");
    // Undo removes the last change (the third task's retries), redo puts it back.
    await page.locator(`.react-flow__node[data-id="${ids[2]}"]`).click();
    await page.getByTestId("task-settings").locator("input").first().fill("2");
    await page.getByTestId("undo").click();
    await page.getByTestId("redo").click();
    await page.getByTestId("wf-save").click();
    await page.waitForURL(/\/workflows\/(?!new)/);
    await page.getByTestId("wf-run").click();
    await page.getByTestId("wf-run-state").first().getByText("SUCCESS").waitFor({ timeout: 60000 });
    for (const id of ids) await page.getByTestId(`task-state-${id}`).getByText("SUCCESS").waitFor();
    // The run as a Gantt chart: a bar per task; a task opens its instance's logs.
    for (const id of ids) await page.getByTestId(`gantt-bar-${id}`).waitFor();
    await page.getByTestId(`gantt-task-${ids[0]}`).click();
    await page.locator("[data-testid^=task-logs-]").getByText("embedded engine").first().waitFor();
    await shot("09-workflow");

    step("a workflow nesting the first one: run, its child run opened in the chart");
    await page.goto(projectUrl);
    await page.getByRole("tab", { name: "Workflows" }).click();
    await page.getByTestId("workflow-name").fill("outer");
    await page.getByTestId("new-workflow").click();
    await page.getByTestId("palette-workflows").getByTestId("nest-nightly").click();
    await page.getByTestId("wf-save").click();
    await page.waitForURL(/\/workflows\/(?!new)/);
    await page.getByTestId("wf-run").click();
    await page.getByTestId("wf-run-state").first().getByText("SUCCESS").waitFor({ timeout: 60000 });
    await page.getByTestId("gantt-task-nightly").click();
    await page.waitForFunction((n) => document.querySelectorAll("[data-testid^=gantt-bar-]").length === n, ids.length + 1);
    clean("workflow");

    step("other pages");
    await page.getByRole("link", { name: "Clusters" }).click();
    await page.getByRole("button", { name: "Register" }).waitFor();
    await shot("06-clusters");
    await page.getByRole("link", { name: "Admin" }).click();
    await page.getByRole("cell", { name: "admin", exact: true }).first().waitFor();
    await shot("07-admin");

    step("switch the language");
    await page.getByTestId("lang").click();
    await page.getByRole("link", { name: "项目" }).waitFor();
    await page.getByRole("link", { name: "项目" }).click();
    await page.getByTestId("new-project").getByText("新建项目").waitFor();
    await shot("08-projects-zh");
    clean("end of the run");
  } catch (e) {
    await shot(`99-failure-run-${run}`).catch(() => undefined);
    console.error(requestReport());
    throw e;
  } finally {
    await ctx.close();
  }
}

try {
  for (let run = 1; run <= RUNS; run++) {
    step(`run ${run} of ${RUNS}`);
    await flow(run);
  }
  step("ok");
} catch (e) {
  console.error(e);
  process.exitCode = 1;
} finally {
  await browser.close();
}
