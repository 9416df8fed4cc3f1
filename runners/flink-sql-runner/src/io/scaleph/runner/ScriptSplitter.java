package io.scaleph.runner;

import java.util.ArrayList;
import java.util.List;

/**
 * Splits a Flink SQL script into statements at semicolons outside string literals, quoted
 * identifiers and comments. An {@code EXECUTE STATEMENT SET BEGIN ... END} block is one
 * statement.
 */
final class ScriptSplitter {
    private ScriptSplitter() {}

    static List<String> split(String script) {
        List<String> raw = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        int n = script.length();
        for (int i = 0; i < n; i++) {
            char c = script.charAt(i);
            if (c == '\'' || c == '"' || c == '`') {
                int j = i + 1;
                while (j < n) {
                    if (script.charAt(j) == c) {
                        if (j + 1 < n && script.charAt(j + 1) == c) {
                            j += 2;
                            continue;
                        }
                        break;
                    }
                    j++;
                }
                cur.append(script, i, Math.min(j + 1, n));
                i = j;
            } else if (c == '-' && i + 1 < n && script.charAt(i + 1) == '-') {
                while (i < n && script.charAt(i) != '\n') {
                    i++;
                }
                cur.append('\n');
            } else if (c == '/' && i + 1 < n && script.charAt(i + 1) == '*') {
                int end = script.indexOf("*/", i + 2);
                i = end < 0 ? n : end + 1;
                cur.append(' ');
            } else if (c == ';') {
                raw.add(cur.toString().trim());
                cur.setLength(0);
            } else {
                cur.append(c);
            }
        }
        raw.add(cur.toString().trim());
        List<String> out = new ArrayList<>();
        StringBuilder block = null;
        for (String s : raw) {
            if (s.isEmpty()) {
                continue;
            }
            String upper = s.toUpperCase().replaceAll("\\s+", " ");
            if (block == null && (upper.startsWith("EXECUTE STATEMENT SET") || upper.startsWith("BEGIN STATEMENT SET"))) {
                block = new StringBuilder(s).append(";\n");
            } else if (block != null) {
                block.append(s).append(";\n");
                if (upper.equals("END")) {
                    out.add(block.toString().replaceAll(";\\s*$", ""));
                    block = null;
                }
            } else {
                out.add(s);
            }
        }
        if (block != null) {
            throw new IllegalArgumentException("statement set without END");
        }
        return out;
    }
}
