#!/usr/bin/env bash
# Checks systemd/attune.service with `systemd-analyze verify`.
#
#   cross/verify-unit.sh [BINARY]
#
# verify insists that ExecStart's binary exists, and /usr/bin/attune does not on a build host, so
# the check runs on a copy of the unit whose ExecStart points at a built binary: BINARY, else
# ${CARGO_TARGET_DIR:-target}/release/attune. Any output from systemd-analyze (warnings
# included) is printed and makes the script fail. Also prints the `systemd-analyze security`
# exposure summary (informational; needs no running systemd for a unit file).
set -euo pipefail
cd "$(dirname "$0")/.."

unit=systemd/attune.service
bin="${1:-${CARGO_TARGET_DIR:-target}/release/attune}"
if [ ! -x "$bin" ]; then
  echo "verify-unit: no executable at $bin (build first, or pass the binary's path)" >&2
  exit 1
fi
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# The copy must keep the name attune.service (verify checks the unit name against its type).
sed "s|^ExecStart=/usr/bin/attune |ExecStart=$bin |" "$unit" > "$work/attune.service"
if ! grep -q "^ExecStart=$bin " "$work/attune.service"; then
  echo "verify-unit: could not rewrite ExecStart in $unit" >&2
  exit 1
fi

echo "verify-unit: systemd-analyze verify $unit (ExecStart=$bin)"
# --man=no: the Documentation= pages are not man pages; SYSTEMD_LOG_COLOR keeps output plain.
set +e
out="$(SYSTEMD_LOG_COLOR=0 systemd-analyze verify --man=no "$work/attune.service" 2>&1)"
rc=$?
set -e
if [ $rc -ne 0 ] || [ -n "$out" ]; then
  printf '%s\n' "$out"
  echo "verify-unit: FAILED (exit $rc, $(printf '%s' "$out" | grep -c '') line(s) of output)" >&2
  exit 1
fi
echo "verify-unit: clean (no output, exit 0)"

# Exposure score: informational only (the hardening is deliberate, see the unit's comments).
if systemd-analyze security --help 2>/dev/null | grep -q -- '--offline'; then
  SYSTEMD_LOG_COLOR=0 systemd-analyze security --offline=yes --no-pager "$work/attune.service" \
    2>/dev/null | tail -n 1 || true
fi
