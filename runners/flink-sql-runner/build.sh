#!/usr/bin/env bash
# Builds the scaleph Flink SQL runner jar with javac against a Flink distribution's lib/ jars.
#   runners/flink-sql-runner/build.sh <FLINK_HOME> <out-dir>   # prints the jar's path
# Rebuilds only when a source file is newer than the jar.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
flink_home="${1:?FLINK_HOME}"
out="${2:?out dir}"
jar="$out/scaleph-flink-sql-runner.jar"
mkdir -p "$out"
if [ ! -f "$jar" ] || [ -n "$(find "$here/src" -newer "$jar" -name '*.java')" ]; then
  rm -rf "$out/classes"
  javac -nowarn -source 11 -target 11 -cp "$flink_home/lib/*" -d "$out/classes" \
    $(find "$here/src" -name '*.java') >&2
  jar --create --file "$jar" --main-class io.scaleph.runner.SqlRunner -C "$out/classes" . >&2
fi
echo "$jar"
