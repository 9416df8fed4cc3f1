#!/usr/bin/env bash
# Installs Apache Flink 2.3.0 from PyPI wheels (no pip install: both wheels unzipped into one
# directory give a complete FLINK_HOME), a JDK from Debian if missing, builds the scaleph SQL
# runner, and starts or stops a loopback session cluster.
#
#   scripts/flink-cluster.sh start <work-dir>   # prints KEY=VALUE lines to eval
#   scripts/flink-cluster.sh stop <work-dir>
#
# <work-dir> holds the config, logs, checkpoints and savepoints of this cluster.
set -euo pipefail
FLINK_VERSION=2.3.0
CACHE="${SCALEPH_FLINK_CACHE:-$HOME/.cache/scaleph-flink}/$FLINK_VERSION"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cmd="${1:?start|stop}"
work="${2:?work dir}"

install_flink() {
  if [ ! -x "$CACHE/pyflink/bin/jobmanager.sh" ]; then
    mkdir -p "$CACHE/wheels"
    python3 -m pip download --quiet --no-deps -d "$CACHE/wheels" \
      "apache-flink==$FLINK_VERSION" "apache-flink-libraries==$FLINK_VERSION" >&2
    for w in "$CACHE"/wheels/*.whl; do python3 -m zipfile -e "$w" "$CACHE" >&2; done
    chmod +x "$CACHE"/pyflink/bin/*
  fi
  if ! command -v javac >/dev/null; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jdk-headless) >&2
  fi
}

rest_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

case "$cmd" in
start)
  install_flink
  export FLINK_HOME="$CACHE/pyflink"
  runner="$("$ROOT/runners/flink-sql-runner/build.sh" "$FLINK_HOME" "$work/runner")"
  mkdir -p "$work/conf" "$work/log" "$work/checkpoints" "$work/savepoints" "$work/tmp"
  cp "$FLINK_HOME"/conf/log4j*.properties "$work/conf/"
  port=$(rest_port)
  cat > "$work/conf/config.yaml" <<YAML
jobmanager:
  bind-host: 127.0.0.1
  rpc: { address: 127.0.0.1, port: $(rest_port) }
  memory: { process: { size: 1024m } }
taskmanager:
  bind-host: 127.0.0.1
  host: 127.0.0.1
  numberOfTaskSlots: 4
  memory: { process: { size: 1536m } }
rest:
  address: 127.0.0.1
  bind-address: 127.0.0.1
  port: $port
parallelism: { default: 1 }
execution:
  checkpointing:
    dir: file://$work/checkpoints
    savepoint-dir: file://$work/savepoints
    num-retained: 3
restart-strategy:
  type: fixed-delay
  fixed-delay: { attempts: 2, delay: 1 s }
heartbeat: { interval: 2000, timeout: 8000 }
io: { tmp: { dirs: $work/tmp } }
web: { upload: { dir: $work/tmp } }
env:
  java:
    opts:
      all: $(sed -n 's/^      all: //p' "$FLINK_HOME/conf/config.yaml" | head -1)
YAML
  export FLINK_CONF_DIR="$work/conf" FLINK_LOG_DIR="$work/log" FLINK_PID_DIR="$work"
  "$FLINK_HOME/bin/jobmanager.sh" start >&2
  "$FLINK_HOME/bin/taskmanager.sh" start >&2
  for _ in $(seq 1 120); do
    if curl -fsS "http://127.0.0.1:$port/overview" 2>/dev/null | grep -q '"taskmanagers":[1-9]'; then
      echo "FLINK_HOME=$FLINK_HOME"
      echo "FLINK_CONF_DIR=$work/conf"
      echo "FLINK_LOG_DIR=$work/log"
      echo "FLINK_PID_DIR=$work"
      echo "SCALEPH_TEST_FLINK_URL=http://127.0.0.1:$port"
      echo "SCALEPH_FLINK_SQL_RUNNER=$runner"
      exit 0
    fi
    sleep 1
  done
  echo "Flink did not start; logs in $work/log" >&2
  tail -30 "$work"/log/*.log >&2 || true
  exit 1
  ;;
stop)
  export FLINK_HOME="$CACHE/pyflink" FLINK_CONF_DIR="$work/conf" FLINK_LOG_DIR="$work/log" FLINK_PID_DIR="$work"
  "$FLINK_HOME/bin/taskmanager.sh" stop-all >&2 || true
  "$FLINK_HOME/bin/jobmanager.sh" stop-all >&2 || true
  ;;
esac
