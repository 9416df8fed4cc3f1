import i18n from "i18next";
import { initReactI18next } from "react-i18next";

const en = {
  appName: "scaleph",
  signIn: "Sign in", signOut: "Sign out", username: "User name", password: "Password",
  projects: "Projects", newProject: "New project", name: "Name", description: "Description", create: "Create",
  jobs: "Jobs", datasources: "Datasources", clusters: "Clusters", admin: "Admin", members: "Members",
  newJob: "New SQL job", engine: "Engine", state: "State", lastRun: "Last run", search: "Search",
  allStates: "All states", studio: "SQL studio", validate: "Validate", preview: "Preview", save: "Save version",
  submit: "Submit", valid: "The script is valid", validatedBy: "checked by", explainPlan: "Flink's plan (EXPLAIN)", versions: "Versions", diff: "Diff", compare: "Compare",
  message: "Message", saved: "Saved version {{v}}", submitted: "Submitted", noRows: "No rows",
  jobDetail: "Job", instance: "Instance", timeline: "State timeline", metrics: "Metrics", logs: "Logs",
  exceptions: "Exceptions", savepoints: "Savepoints", cancel: "Cancel", stop: "Stop with savepoint",
  triggerSavepoint: "Trigger savepoint", restart: "Restart", restore: "Restore from this",
  confirm: "Are you sure?", rows: "Rows", bytes: "Bytes", table: "Table", role: "Role", empty: "Nothing yet",
  type: "Type", test: "Test connection", register: "Register", health: "Health", users: "Users",
  audit: "Audit log", actor: "Actor", action: "Action", target: "Target", outcome: "Outcome", time: "Time",
  tokens: "Tokens", language: "中文", cluster: "Cluster", add: "Add", properties: "Properties",
  operators: "Operators", operator: "Operator", recordsIn: "Records in", recordsOut: "Records out",
  perSecond: "/s", watermark: "Watermark", lateDropped: "Late dropped", stateRows: "State rows",
  checkpoints: "Checkpoints", stopPreview: "Stop", previewRunning: "Running: rows appear as they come",
  previewTruncated: "Stopped at the row or time limit",
  schedule: "Schedule", cron: "Cron", timezone: "Time zone",
  misfire: "After downtime", fireOnce: "Run once", skipMissed: "Skip", overlap: "While running",
  skipOverlap: "Skip", queue: "Queue", allow: "Allow", params: "Parameters",
  paramsHelp: "One name=value per line; ${name} in the script, ${bizdate} is built in",
  nextFires: "Next fire times", saveSchedule: "Save schedule", pause: "Pause", resume: "Resume",
  delete: "Delete", refresh: "Refresh", paused: "Paused", active: "Active",
  workflows: "Workflows", newWorkflow: "New workflow", saveWorkflow: "Save",
  backfill: "Backfill", runBackfill: "Run", parallelism: "Runs at a time", pickDates: "Pick the first and last business date",
  backfillCreated: "Backfill of {{n}} dates started", backfillHelp: "One run per business date in the range, each with its own ${bizdate}.", tasks: "Tasks", task: "Task", undo: "Undo", redo: "Redo",
  autoLayout: "Auto layout", strategyContinue: "On failure: continue", strategyEnd: "On failure: end",
  runWorkflow: "Run", runs: "Runs", retries: "Retries", retryInterval: "Retry interval (s)",
  timeoutS: "Timeout (s)", timeoutAction: "On timeout", timeoutFail: "Fail", timeoutAlert: "Alert",
  selectTask: "Click a task to edit it; add tasks from the job list", workflowSaved: "Workflow saved",
  cycleRefused: "{{from}} → {{to}} would make a cycle",
  editorHelp: "Drag from a task's right handle to another's left to make it run after; Delete removes the selection; Ctrl+Z / Ctrl+Y undo and redo.",
};

const zh: typeof en = {
  appName: "scaleph",
  signIn: "登录", signOut: "退出", username: "用户名", password: "密码",
  projects: "项目", newProject: "新建项目", name: "名称", description: "描述", create: "创建",
  jobs: "作业", datasources: "数据源", clusters: "集群", admin: "管理", members: "成员",
  newJob: "新建 SQL 作业", engine: "引擎", state: "状态", lastRun: "最近运行", search: "搜索",
  allStates: "全部状态", studio: "SQL 开发", validate: "校验", preview: "预览", save: "保存版本",
  submit: "提交", valid: "脚本校验通过", validatedBy: "校验方", explainPlan: "Flink 执行计划 (EXPLAIN)", versions: "版本", diff: "对比", compare: "比较",
  message: "说明", saved: "已保存版本 {{v}}", submitted: "已提交", noRows: "无数据",
  jobDetail: "作业", instance: "实例", timeline: "状态时间线", metrics: "指标", logs: "日志",
  exceptions: "异常", savepoints: "保存点", cancel: "取消", stop: "停止并保存",
  triggerSavepoint: "触发保存点", restart: "重启", restore: "从此恢复",
  confirm: "确定吗？", rows: "行数", bytes: "字节", table: "表", role: "角色", empty: "暂无数据",
  type: "类型", test: "测试连接", register: "注册", health: "健康", users: "用户",
  audit: "审计日志", actor: "操作者", action: "操作", target: "对象", outcome: "结果", time: "时间",
  tokens: "令牌", language: "English", cluster: "集群", add: "添加", properties: "属性",
  operators: "算子", operator: "算子", recordsIn: "输入记录", recordsOut: "输出记录",
  perSecond: "/秒", watermark: "水位线", lateDropped: "迟到丢弃", stateRows: "状态行数",
  checkpoints: "检查点", stopPreview: "停止", previewRunning: "运行中：结果实时出现",
  previewTruncated: "已在行数或时间上限处停止",
  schedule: "调度", cron: "Cron 表达式", timezone: "时区",
  misfire: "停机后", fireOnce: "补跑一次", skipMissed: "跳过", overlap: "上次未结束时",
  skipOverlap: "跳过", queue: "排队", allow: "并行", params: "参数",
  paramsHelp: "每行一个 name=value；脚本中写 ${name}，${bizdate} 为内置参数",
  nextFires: "接下来的触发时间", saveSchedule: "保存调度", pause: "暂停", resume: "恢复",
  delete: "删除", refresh: "刷新", paused: "已暂停", active: "运行中",
  workflows: "工作流", newWorkflow: "新建工作流", saveWorkflow: "保存",
  backfill: "补数", runBackfill: "运行", parallelism: "并行数", pickDates: "请选择起止业务日期",
  backfillCreated: "已开始补数：{{n}} 个日期", backfillHelp: "区间内每个业务日期运行一次，各自带有 ${bizdate}。", tasks: "任务", task: "任务", undo: "撤销", redo: "重做",
  autoLayout: "自动布局", strategyContinue: "失败时：继续", strategyEnd: "失败时：结束",
  runWorkflow: "运行", runs: "运行记录", retries: "重试次数", retryInterval: "重试间隔（秒）",
  timeoutS: "超时（秒）", timeoutAction: "超时后", timeoutFail: "失败", timeoutAlert: "告警",
  selectTask: "点击任务进行编辑；从作业列表添加任务", workflowSaved: "工作流已保存",
  cycleRefused: "{{from}} → {{to}} 会形成环",
  editorHelp: "从任务右侧的连接点拖到另一任务左侧，表示其后运行；Delete 删除所选；Ctrl+Z / Ctrl+Y 撤销与重做。",
};

i18n.use(initReactI18next).init({
  resources: { en: { translation: en }, zh: { translation: zh } },
  lng: localStorage.getItem("lang") ?? "en",
  fallbackLng: "en",
  interpolation: { escapeValue: false },
});

export function toggleLanguage() {
  const next = i18n.language === "en" ? "zh" : "en";
  localStorage.setItem("lang", next);
  i18n.changeLanguage(next);
}

export default i18n;
