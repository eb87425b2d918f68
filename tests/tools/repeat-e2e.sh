#!/usr/bin/env bash
# Runs browser/peer e2e tests N times in a row, to catch a flake before CI does: the way the
# DTMF flake of media.test.mjs was reproduced and its fix checked. Needs what
# `cargo xtask test` builds (target/debug/sipsimple-gateway, web/pkg, target/npm/package,
# tests/vite-app/dist, the msrp_peer example). Copy the gateway binary first if you keep
# building while it runs: GATEWAY=/tmp/gw tests/tools/repeat-e2e.sh 5.
#
#   tests/tools/repeat-e2e.sh N [FILE.test.mjs [NAME-PATTERN]]
#
# Each failing run's output stays in $OUT (default /tmp/repeat-e2e), one file per run; the
# summary line per run goes to standard output. LOAD=2 adds that many busy loops beside it.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
n=${1:?usage: repeat-e2e.sh N [FILE.test.mjs [NAME-PATTERN]]}
file=${2:-}
pattern=${3:-}
out=${OUT:-/tmp/repeat-e2e}
mkdir -p "$out"
export SIPSIMPLE_GATEWAY_BIN=${GATEWAY:-$root/target/debug/sipsimple-gateway}
export SIPSIMPLE_WEB_DIR=$root/web SIPSIMPLE_VITE_DIST=$root/tests/vite-app/dist
export SIPSIMPLE_NPM_PACKAGE=$root/target/npm/package CHROMIUM=/usr/bin/chromium E2E_DEBUG=${E2E_DEBUG:-1}
cd "$root/tests/e2e" || exit 2
if [ -n "$file" ]; then files=("$file"); else files=(*.test.mjs); fi
args=(--test --test-concurrency=1)
[ -n "$pattern" ] && args+=(--test-name-pattern="$pattern")
busy=()
for _ in $(seq 1 "${LOAD:-0}"); do (while :; do :; done) & busy+=($!); done
trap '[ ${#busy[@]} -gt 0 ] && kill "${busy[@]}" 2>/dev/null' EXIT
failed=0
for i in $(seq 1 "$n"); do
  log=$out/run-$i.log
  if ../tools/udp-egress-guard node "${args[@]}" "${files[@]}" >"$log" 2>&1; then
    rm -f "$log"; result=pass
  else
    failed=$((failed + 1)); result="FAIL (see $log)"
  fi
  echo "run $i/$n: $result"
done
echo "$((n - failed)) of $n passed"
[ "$failed" -eq 0 ]
