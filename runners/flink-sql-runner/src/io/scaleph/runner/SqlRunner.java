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
 */
public final class SqlRunner {
    private static final Pattern SET =
            Pattern.compile("(?is)SET\\s+'([^']*)'\\s*=\\s*'((?:[^']|'')*)'");
    private static final Pattern RESET = Pattern.compile("(?is)RESET(\\s+'([^']*)')?");

    private SqlRunner() {}

    public static void main(String[] args) throws Exception {
        String script = null;
        String name = null;
        java.util.Map<String, String> presets = new java.util.LinkedHashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            if (args[i].equals("--script-base64")) {
                script = new String(Base64.getDecoder().decode(args[i + 1]), StandardCharsets.UTF_8);
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
        TableEnvironment env = TableEnvironment.create(
                EnvironmentSettings.newInstance().withConfiguration(conf).build());
        StatementSet inserts = null;
        for (int i = first; i < statements.size(); i++) {
            String s = statements.get(i);
            String head = s.trim().toUpperCase();
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
            } else if (head.startsWith("SELECT") || head.startsWith("WITH")) {
                throw new IllegalArgumentException(
                        "statement " + (i + 1) + ": a query's rows have nowhere to go on a cluster; INSERT INTO a sink (e.g. 'connector' = 'print')");
            } else {
                env.executeSql(s);
            }
        }
        if (inserts != null) {
            inserts.execute();
        }
    }
}
