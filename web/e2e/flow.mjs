// End-to-end flow in real Chromium (Debian's /usr/bin/chromium) against a running
// `scaleph serve`: sign in, create a project and a filesystem datasource, write a SQL job with
// a deliberate error and check the marker's line, fix it, preview rows, save, submit, see it
// FINISHED with metrics, read its logs, switch the language. Screenshots go to $SHOTS.
//
// Env: BASE (server URL), PASSWORD (admin's), DATA (a directory with people/part-0.csv), SHOTS.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";

const { BASE, PASSWORD, DATA, SHOTS = "e2e/screenshots" } = process.env;
if (!BASE || !PASSWORD || !DATA) throw new Error("BASE, PASSWORD and DATA must be set");
mkdirSync(SHOTS, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
const shot = (name) => page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });
const step = (s) => console.log(`e2e: ${s}`);
const fail = (m) => { throw new Error(m); };

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

  step("create a project");
  await page.getByTestId("new-project").click();
  await page.fill("#project-name", "e2e");
  await page.getByTestId("create-project").click();
  await page.getByRole("link", { name: "e2e" }).click();
  await page.getByRole("tab", { name: "Datasources" }).waitFor();
  await shot("02-project");

  step("create a filesystem datasource");
  await page.getByRole("tab", { name: "Datasources" }).click();
  await page.fill("#ds-name", "files");
  await page.fill("#ds-path", DATA);
  await page.getByTestId("create-datasource").click();
  await page.getByRole("cell", { name: "files", exact: true }).waitFor();

  step("new SQL job");
  await page.getByRole("tab", { name: "Jobs" }).click();
  await page.getByTestId("new-job").click();
  await page.getByTestId("editor").waitFor();
  await page.waitForFunction(() => window.scalephEditor);
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
  await setScript(`${ddl}\n\nSELECT id, name, age FROM people ORDER BY id;`);
  await page.getByTestId("validate").click();
  await page.getByTestId("valid").waitFor();
  const left = await page.evaluate(() => window.scalephMonaco.editor.getModelMarkers({ owner: "scaleph" }).length);
  if (left !== 0) fail("markers left after the fix");
  await page.getByTestId("preview").click();
  await page.getByTestId("preview-grid").getByText("carol").waitFor();
  await page.getByTestId("preview-grid").getByText("BIGINT").first().waitFor();
  await shot("04-studio-preview");

  step("save and submit");
  await setScript(`${ddl}\nCREATE TABLE out (id BIGINT, name STRING) WITH ('connector' = 'print');\nINSERT INTO out SELECT id, name FROM people;`);
  await page.getByTestId("save").click();
  await page.getByText("Saved version 2").waitFor();
  await page.getByTestId("submit").click();
  await page.getByTestId("state").getByText("FINISHED").waitFor({ timeout: 60000 });
  await page.getByTestId("metrics").getByRole("cell", { name: "sink" }).waitFor();
  await page.getByTestId("logs").getByText("+I[1, alice]").waitFor();
  await shot("05-job-detail");

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
  step("ok");
} catch (e) {
  await shot("99-failure").catch(() => undefined);
  console.error(e);
  process.exitCode = 1;
} finally {
  await browser.close();
}
