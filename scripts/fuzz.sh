#!/usr/bin/env bash
# Fuzzes the Flink SQL front end (`parse_script`) and the embedded engine's planner (`plan`) for a
# bounded time: `scripts/fuzz.sh [SECONDS]` runs each target for SECONDS (default 60).
#
# Works on a stable toolchain: installs cargo-fuzz if missing, builds the targets with
# `cargo fuzz build --dev --sanitizer none` (no sanitizer needs nightly; `--dev` is far cheaper
# to build cold than cargo-fuzz's one-codegen-unit release mode), then runs the libFuzzer
# binaries directly with the committed seeds (fuzz/seeds and the engine's golden scripts) and dictionary
# (fuzz/sql.dict). Inputs the fuzzer finds interesting accumulate in a corpus kept outside the
# clone ($SCALEPH_FUZZ_CORPUS, default ~/.cache/scaleph-fuzz/corpus), so runs build on each other.
#
# Exits non-zero if any target found a failing input (panic, stack overflow, more than 4 GiB of
# RSS, more than 10 s for one input) and prints where that input was written
# (fuzz/artifacts/<target>/). Reproduce one with `<binary> <input>`, minimise it with
# `<binary> -minimize_crash=1 -runs=10000 <input>` (binaries in $CARGO_TARGET_DIR, printed below).
#
# Environment: SCALEPH_FUZZ_TARGET_DIR (default $CARGO_TARGET_DIR/fuzz, a target directory of its
# own: everything is compiled with coverage instrumentation), SCALEPH_FUZZ_CORPUS,
# SCALEPH_BUILD_LOCK (a lock file: if set, cargo runs under `flock` on it, to serialise builds
# with others on a shared machine).
set -euo pipefail
cd "$(dirname "$0")/.."

secs="${1:-60}"
targets=(parse_script plan)
export CARGO_TARGET_DIR="${SCALEPH_FUZZ_TARGET_DIR:-${CARGO_TARGET_DIR:-$HOME/.cache/scaleph-target}/fuzz}"
corpus_root="${SCALEPH_FUZZ_CORPUS:-$HOME/.cache/scaleph-fuzz/corpus}"

locked() {
  if [ -n "${SCALEPH_BUILD_LOCK:-}" ]; then flock "$SCALEPH_BUILD_LOCK" "$@"; else "$@"; fi
}

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz"
  locked cargo install cargo-fuzz --locked
fi

start=$(date +%s)
locked cargo fuzz build --fuzz-dir fuzz --dev --sanitizer none
echo "fuzz: build $(( $(date +%s) - start ))s"

triple=$(rustc -vV | sed -n 's/^host: //p')
bin_dir="$CARGO_TARGET_DIR/$triple/debug"
failed=()
for t in "${targets[@]}"; do
  mkdir -p "$corpus_root/$t" "fuzz/artifacts/$t"
  marker=$(mktemp)
  log=$(mktemp)
  last=$(mktemp)
  echo "fuzz: $t for ${secs}s ($bin_dir/$t)"
  status=0
  SCALEPH_FUZZ_LAST_INPUT="$last" "$bin_dir/$t" "$corpus_root/$t" fuzz/seeds crates/scaleph-embedded/tests/golden \
    -dict=fuzz/sql.dict \
    -artifact_prefix="fuzz/artifacts/$t/" \
    -max_total_time="$secs" \
    -rss_limit_mb=4096 \
    -timeout=10 \
    -print_final_stats=1 \
    2>"$log" || status=$?
  if [ "$status" -eq 0 ]; then
    # The summary: seeds loaded, coverage reached, executions per second, peak memory.
    grep -E '^(INFO: seed corpus|#[0-9]+\s+(INITED|DONE))|^stat::' "$log" | sed "s/^/  /"
  else
    failed+=("$t")
    tail -n 60 "$log" >&2
    found=$(find "fuzz/artifacts/$t" -type f -newer "$marker" | sort)
    if [ -z "$found" ] && [ -s "$last" ]; then
      # Killed outright (a stack overflow: SIGSEGV): keep the input it was running.
      found="fuzz/artifacts/$t/crash-signal-$(sha1sum "$last" | cut -c1-40)"
      cp "$last" "$found"
    fi
    how="exit $status"
    [ "$status" -gt 128 ] && how="killed by signal $((status - 128))"
    echo "fuzz: $t FAILED ($how); failing input(s):" >&2
    if [ -n "$found" ]; then echo "$found" | sed 's/^/  /' >&2; else echo "  (none written)" >&2; fi
  fi
  rm -f "$marker" "$log" "$last"
done

if [ ${#failed[@]} -ne 0 ]; then
  echo "fuzz: failures in: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: ok ($(( $(date +%s) - start ))s)"
