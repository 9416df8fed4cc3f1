#!/usr/bin/env bash
# Installs the test dependencies when missing: PostgreSQL server, Chromium and the CJK font
# (Debian packages; the font also when Chromium is already there), DuckDB (PyPI, for TPC-H
# reference results) and tpchgen-cli (PyPI, data of the differential corpus),
# schemathesis and aiosmtpd (PyPI, in the venv ~/.cache/scaleph-venv, for
# tests/fuzz_api.rs and tests/alerts.rs), the web UI's npm packages (Vite, Vitest, playwright-core). Flink and the
# JDK come with scripts/flink-cluster.sh. Idempotent.
set -euo pipefail
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
fi
# The CJK font is checked on its own: where Chromium is already installed without it, the
# Chinese UI screenshots would show boxes.
if ! command -v chromium >/dev/null 2>&1 || ! dpkg -s fonts-noto-cjk >/dev/null 2>&1; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
fi
if [ ! -d web/node_modules ]; then
  npm --prefix web install --no-audit --no-fund
fi
if ! python3 -c 'import duckdb' 2>/dev/null; then
  python3 -m pip install --quiet duckdb
fi
# TPC-H data generator of the differential corpus (crates/scaleph-embedded/tests/corpus).
if ! command -v tpchgen-cli >/dev/null 2>&1; then
  python3 -m pip install --quiet tpchgen-cli==4.0.0
fi
VENV="$HOME/.cache/scaleph-venv"
if [ ! -x "$VENV/bin/st" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet schemathesis
fi
# aiosmtpd: the SMTP server that receives the alert mails of tests/alerts.rs.
if ! "$VENV/bin/python" -c 'import aiosmtpd' 2>/dev/null; then
  "$VENV/bin/pip" install --quiet aiosmtpd
fi
if ! command -v cargo-nextest >/dev/null 2>&1; then
  cargo install --locked cargo-nextest
fi
