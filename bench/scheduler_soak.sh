#!/bin/bash
# The scheduler tests N times in a row (default 20) beside a CPU hog, PostgreSQL included:
# the check that the suite holds on a loaded machine. Prints one line per run, then the
# failures, and exits non-zero if any run failed.  Usage: bench/scheduler_soak.sh [N]
set -u
cd "$(dirname "$0")/.."
runs=${1:-20}
failed=0
yes > /dev/null & hog=$!
trap 'kill $hog 2>/dev/null' EXIT
for i in $(seq 1 "$runs"); do
  start=$(date +%s)
  REQUIRE_POSTGRES=1 FORBID_SKIPS=1 .venv/bin/python -m pytest -q -p no:cacheprovider \
    tests/scheduler > "/tmp/scheduler-soak-$i.log" 2>&1 || failed=$((failed + 1))
  echo "run $i: $(( $(date +%s) - start )) s, load $(cut -d' ' -f1 /proc/loadavg):" \
    "$(tail -1 "/tmp/scheduler-soak-$i.log")"
done
echo "$failed of $runs runs failed"
[ "$failed" -eq 0 ]
