#!/usr/bin/env bash
# Load stability of the test suite (issue 12): the timing-sensitive test files, ROUNDS times in a
# row, while full `npm test` suites run beside them, one after another, on the same cores. Each
# side runs in its own network namespace (`unshare -n`, loopback up), because the tests bind fixed
# 127.x addresses and two copies of one file in one namespace would collide.
#
#   bench/soak-tests.sh [ROUNDS]          # default 10 rounds
#   SOAK_FILES="test/a.test.ts test/b.test.ts" bench/soak-tests.sh 3
#   SOAK_BESIDE=0 bench/soak-tests.sh     # no full suite beside (the files alone)
#
# Needs root or user namespaces (unshare -n). Prints one line per round and per full suite
# (pass / fail / skipped counts from node:test's summary) and a total; exits 1 when any round or
# suite failed. Logs stay in the folder it names.
set -u
cd "$(dirname "$0")/.."

ROUNDS=${1:-10}
BESIDE=${SOAK_BESIDE:-1}
FILES=${SOAK_FILES:-"test/probe-honest.test.ts test/doctor-airflash.test.ts test/diagnosis.test.ts
  test/emulator-esp32-update.test.ts test/emulator-esp8266-update.test.ts test/upload-lossy.test.ts
  test/dashboard-resources.test.ts test/dashboard-cli.test.ts test/fuzz-emulator.test.ts
  test/two-uploaders.test.ts test/transfer-stall.test.ts test/upload-timeouts.test.ts
  test/emulator-faults.test.ts"}
LOGS=$(mktemp -d "${TMPDIR:-/tmp}/airflash-soak-tests.XXXXXX")

# Run a command in a fresh network namespace with loopback up.
inns() {
  unshare -n bash -c 'ip link set lo up && exec "$@"' inns "$@"
}

# "pass P fail F skipped S" from a node:test summary (spec or TAP reporter).
counts() {
  local p f s
  p=$(grep -aE '^(# |ℹ )pass [0-9]+' "$1" | tail -1 | grep -oE '[0-9]+$')
  f=$(grep -aE '^(# |ℹ )fail [0-9]+' "$1" | tail -1 | grep -oE '[0-9]+$')
  s=$(grep -aE '^(# |ℹ )skipped [0-9]+' "$1" | tail -1 | grep -oE '[0-9]+$')
  echo "pass ${p:-?} fail ${f:-?} skipped ${s:-?}"
}

# Names of the failed tests in a log (TAP `not ok`, or the spec reporter's ✖).
failures() {
  grep -aE '^[[:space:]]*not ok |✖' "$1" | grep -av 'failing tests:' | sed 's/^[[:space:]]*/    /' | sort -u | head -20
}

suites_ok=0
suites_failed=0
beside_pid=
if [ "$BESIDE" != 0 ]; then
  (
    i=0
    while [ ! -e "$LOGS/stop" ]; do
      i=$((i + 1))
      start=$(date +%s)
      inns npm test >"$LOGS/suite-$i.log" 2>&1
      echo "$? $(($(date +%s) - start))" >"$LOGS/suite-$i.rc"
    done
  ) &
  beside_pid=$!
fi

echo "soak-tests: $ROUNDS rounds of $(echo $FILES | wc -w) files$([ "$BESIDE" != 0 ] && echo ', full npm test suites beside'); logs in $LOGS"
rounds_ok=0
for r in $(seq "$ROUNDS"); do
  start=$(date +%s)
  # shellcheck disable=SC2086
  inns node --import tsx --test --test-concurrency=2 --test-force-exit --test-timeout=240000 $FILES \
    >"$LOGS/round-$r.log" 2>&1
  rc=$?
  [ $rc = 0 ] && rounds_ok=$((rounds_ok + 1))
  echo "round $r/$ROUNDS: exit $rc, $(counts "$LOGS/round-$r.log"), $(($(date +%s) - start)) s"
  [ $rc = 0 ] || failures "$LOGS/round-$r.log"
done

if [ -n "$beside_pid" ]; then
  touch "$LOGS/stop"
  echo "waiting for the full suite beside to finish…"
  wait "$beside_pid"
  for rcfile in "$LOGS"/suite-*.rc; do
    [ -e "$rcfile" ] || continue
    log=${rcfile%.rc}.log
    read -r rc secs <"$rcfile"
    if [ "$rc" = 0 ]; then suites_ok=$((suites_ok + 1)); else suites_failed=$((suites_failed + 1)); fi
    echo "full suite $(basename "$log" .log): exit $rc, $(counts "$log"), $secs s"
    [ "$rc" = 0 ] || failures "$log"
  done
fi

echo "total: $rounds_ok/$ROUNDS rounds passed; full suites beside: $suites_ok passed, $suites_failed failed"
[ "$rounds_ok" = "$ROUNDS" ] && [ "$suites_failed" = 0 ]
