package io.scaleph.runner;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.table.api.EnvironmentSettings;
import org.apache.flink.table.api.StatementSet;
import org.apache.flink.table.api.TableEnvironment;

/**
 * Runs a Flink SQL script as one Flink job: {@code SET}/{@code RESET} change the configuration
 * (leading ones before the table environment exists, so {@code execution.runtime-mode} works),
 * DDL runs as it comes, and all {@code INSERT} statements go into one statement set submitted
 * at the end. {@code EXECUTE STATEMENT SET} blocks run as written. A top-level query is refused:
 * on a cluster its rows would go nowhere (use a print sink).
 *
 * <p>Arguments: {@code --script-base64 <base64 of the UTF-8 script>} and optionally
 * {@code --pipeline-name <name>} and {@code --set key=value} (repeatable; job settings applied
 * before the script's own {@code SET}s).
 *
 * <p>{@code --mode validate}: parses, validates and plans the script with Flink's own planner
 * without running it (DDL registers in the in-memory catalog, queries and the inserts are
 * explained), then prints one line {@code SCALEPH_VALIDATE {json}}: {@code {"ok":true,
 * "explain":"…"}} or {@code {"ok":false,"statement":i,"line":l,"column":c,"message":"…"}} with
 * the 0-based statement index and the position inside that statement (0 when Flink gives none).
 */
public final class SqlRunner {
    private static final Pattern SET =
            Pattern.compile("(?is)SET\\s+'([^']*)'\\s*=\\s*'((?:[^']|'')*)'");
    private static final Pattern RESET = Pattern.compile("(?is)RESET(\\s+'([^']*)')?");

    private SqlRunner() {}

    public static void main(String[] args) throws Exception {
        String script = null;
        String name = null;
        boolean validate = false;
        java.util.Map<String, String> presets = new java.util.LinkedHashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            if (args[i].equals("--script-base64")) {
                script = new String(Base64.getDecoder().decode(args[i + 1]), StandardCharsets.UTF_8);
            } else if (args[i].equals("--mode")) {
                validate = args[i + 1].equals("validate");
            } else if (args[i].equals("--pipeline-name")) {
                name = args[i + 1];
            } else if (args[i].equals("--set")) {
                int eq = args[i + 1].indexOf('=');
                if (eq < 1) {
                    throw new IllegalArgumentException("--set expects key=value, got " + args[i + 1]);
                }
                presets.put(args[i + 1].substring(0, eq), args[i + 1].substring(eq + 1));
            } else {
                throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        if (script == null) {
            throw new IllegalArgumentException("usage: --script-base64 <script> [--pipeline-name <name>]");
        }
        List<String> statements = ScriptSplitter.split(script);
        Configuration conf = new Configuration();
        if (name != null) {
            conf.setString("pipeline.name", name);
        }
        presets.forEach(conf::setString);
        int first = 0;
        while (first < statements.size()) {
            Matcher m = SET.matcher(statements.get(first));
            if (!m.matches()) {
                break;
            }
            conf.setString(m.group(1), m.group(2).replace("''", "'"));
            first++;
        }
        if (validate) {
            validate(statements, first, conf);
        } else {
            process(statements, first, conf, null, new int[1]);
        }
    }

    /**
     * Runs the statements from {@code first} on, or, with {@code explain} given, validates them:
     * catalog statements run, everything else is explained into {@code explain}, nothing executes.
     * {@code at[0]} is the index of the statement being handled (for error positions).
     */
    private static void process(List<String> statements, int first, Configuration conf,
            StringBuilder explain, int[] at) throws Exception {
        boolean validate = explain != null;
        TableEnvironment env = TableEnvironment.create(
                EnvironmentSettings.newInstance().withConfiguration(conf).build());
        StatementSet inserts = null;
        int lastInsert = -1;
        for (int i = first; i < statements.size(); i++) {
            at[0] = i;
            String s = statements.get(i);
            String head = s.trim().toUpperCase().replaceAll("\\s+", " ");
            Matcher set = SET.matcher(s);
            if (set.matches()) {
                env.getConfig().set(set.group(1), set.group(2).replace("''", "'"));
            } else if (RESET.matcher(s).matches()) {
                continue;
            } else if (head.startsWith("INSERT")) {
                if (inserts == null) {
                    inserts = env.createStatementSet();
                }
                inserts.addInsertSql(s);
                lastInsert = i;
            } else if (validate
                    && (!CATALOG_ONLY.matcher(s.trim()).lookingAt() || CTAS.matcher(s.trim()).lookingAt())) {
                // Queries, EXECUTE …, CTAS, DELETE/UPDATE/TRUNCATE/CALL…: explained, never run.
                try (org.apache.flink.util.CloseableIterator<org.apache.flink.types.Row> rows =
                        env.executeSql("EXPLAIN " + s).collect()) {
                    rows.forEachRemaining(r -> explain.append(r.getField(0)).append('\n'));
                }
            } else if (head.startsWith("SELECT") || head.startsWith("WITH")) {
                throw new IllegalArgumentException(
                        "statement " + (i + 1) + ": a query's rows have nowhere to go on a cluster; INSERT INTO a sink (e.g. 'connector' = 'print')");
            } else {
                env.executeSql(s);
            }
        }
        if (inserts != null) {
            at[0] = lastInsert;
            if (validate) {
                explain.append(inserts.explain()).append('\n');
            } else {
                inserts.execute();
            }
        }
    }

    /** Statements that only change the session's catalog (safe to execute when validating). */
    private static final Pattern CATALOG_ONLY = Pattern.compile(
            "(?is)(CREATE|DROP|ALTER|USE|SHOW|DESC|DESCRIBE|ADD\\s+JAR|LOAD\\s+MODULE|UNLOAD\\s+MODULE)\\b");
    /** {@code CREATE [OR REPLACE] TABLE … AS query} and {@code REPLACE TABLE … AS query}: run jobs. */
    private static final Pattern CTAS = Pattern.compile(
            "(?is)((CREATE\\s+(OR\\s+REPLACE\\s+)?)|REPLACE\\s+)(TEMPORARY\\s+)?TABLE\\b.*\\bAS\\s*(\\(|SELECT|WITH|VALUES)");
    private static final Pattern POSITION =
            Pattern.compile("(?i)(?:at )?line (\\d+), column (\\d+)");

    /** {@code --mode validate}: see the class comment. */
    private static void validate(List<String> statements, int first, Configuration conf) {
        StringBuilder explain = new StringBuilder();
        int[] at = {first};
        try {
            process(statements, first, conf, explain, at);
            System.out.println("SCALEPH_VALIDATE {\"ok\":true,\"explain\":" + json(explain.toString()) + "}");
        } catch (Throwable t) {
            Throwable root = t;
            String message = t.getMessage() == null ? t.toString() : t.getMessage();
            int line = 0;
            int column = 0;
            for (Throwable c = t; c != null; c = c.getCause()) {
                String m = c.getMessage() == null ? "" : c.getMessage();
                Matcher p = POSITION.matcher(m);
                if (p.find()) {
                    line = Integer.parseInt(p.group(1));
                    column = Integer.parseInt(p.group(2));
                    message = m;
                }
                root = c;
            }
            if (line == 0 && root.getMessage() != null) {
                message = message + (message.contains(root.getMessage()) ? "" : ": " + root.getMessage());
            }
            System.out.println("SCALEPH_VALIDATE {\"ok\":false,\"statement\":" + at[0] + ",\"line\":" + line
                    + ",\"column\":" + column + ",\"message\":" + json(message) + "}");
        }
    }

    /** A JSON string literal. */
    private static String json(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"': b.append("\\\""); break;
                case '\\': b.append("\\\\"); break;
                case '\n': b.append("\\n"); break;
                case '\r': b.append("\\r"); break;
                case '\t': b.append("\\t"); break;
                default:
                    if (c < 0x20) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
            }
        }
        return b.append('"').toString();
    }
}
