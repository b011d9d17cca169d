#!/usr/bin/env bash
# make fuzz: runs every fuzz target (or FUZZ_TARGETS) for FUZZ_SECONDS each, one process per
# target (an allocation over the cap or a hang ends that process after saving the input), then
# prints one table: executions, executions per second, distinct outcomes, findings.
# Findings are saved under FUZZ_FINDINGS/<target>/ (default target/fuzz-findings); each
# target's stderr (the readers' warnings) goes to FUZZ_FINDINGS/<target>.stderr.
set -u
BIN=${BIN:-target/release/webly-fuzz}
SECONDS_EACH=${FUZZ_SECONDS:-60}
FINDINGS=${FUZZ_FINDINGS:-target/fuzz-findings}
TARGETS=${FUZZ_TARGETS:-$("$BIN" list | awk '{print $1}')}
mkdir -p "$FINDINGS"
table=()
status=0
for t in $TARGETS; do
  out=$(nice -n "${FUZZ_NICE:-10}" "$BIN" run "$t" --seconds "$SECONDS_EACH" \
        --findings "$FINDINGS" 2>"$FINDINGS/$t.stderr")
  rc=$?
  grep '^FINDING' <<<"$out"
  line=$(grep "^$t " <<<"$out")
  if [ "$rc" -ne 0 ]; then status=1; fi
  if [ -z "$line" ]; then line="$t  stopped (exit $rc): see above and $FINDINGS/$t.stderr"; fi
  table+=("$line")
done
echo
echo "target             execs   seconds   execs/s  outcomes  corpus  findings"
printf '%s\n' "${table[@]}"
exit $status
