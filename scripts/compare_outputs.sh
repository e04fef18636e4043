#!/bin/bash
# Byte-identity of two ouistat binaries on the same inputs.
#
#   scripts/compare_outputs.sh OLD_BIN NEW_BIN WORKDIR -- RUN_ARGS…
#
# Runs `OLD_BIN run --out WORKDIR/old RUN_ARGS…` and the same with NEW_BIN
# into WORKDIR/new, then lists the files whose SHA-256 differ. run.json
# always differs (timings); with recipients, secret/*.json (timings) and
# the register (timestamps and the chain hash) do too.
set -euo pipefail
old=$1 new=$2 work=$3
shift 3
[ "${1:-}" = "--" ] && shift
for v in old new; do
  bin=$old; [ $v = new ] && bin=$new
  rm -rf "$work/$v"
  mkdir -p "$work"
  "$bin" run --out "$work/$v" "$@" > "$work/$v.log" 2>&1 || echo "$v: exit $?"
  (cd "$work/$v" && find . -type f | sort | xargs sha256sum) > "$work/$v.sha256"
done
echo "files: $(wc -l < "$work/old.sha256") and $(wc -l < "$work/new.sha256")"
diff "$work/old.sha256" "$work/new.sha256" | awk '/^[<>]/ {print $3}' | sort -u || true
