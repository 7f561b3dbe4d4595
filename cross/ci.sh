#!/usr/bin/env bash
# Deployment CI: checks the systemd unit, cross-compiles for the Raspberry Pi (aarch64), runs
# the aarch64 binary under qemu, and builds the amd64 and arm64 .debs. Prints the time of each
# step; exits non-zero on the first failure.
#
#   cross/ci.sh
#
# Expects the native release build and the models from scripts/setup.sh (as .ci/run does):
#   HOST_TARGET_DIR     native build (default: $CARGO_TARGET_DIR, else /var/cache/attune-ci/target)
#   AARCH64_TARGET_DIR  cross build (default: /var/cache/attune-ci/target-aarch64); keep it
#                       between runs: warm, the whole script takes a few minutes, cold about
#                       20 minutes on 2 cores (whisper.cpp, espeak-ng and all crates for aarch64)
#   DEB_OUT_DIR         the .debs (default: $AARCH64_TARGET_DIR/debian)
#   ATTUNE_NO_APT=1     never install Debian packages (fail if one is missing)
# Nothing is written to the native target dir: the native build is only read.
set -euo pipefail
cd "$(dirname "$0")/.."

HOST_TARGET_DIR="${HOST_TARGET_DIR:-${CARGO_TARGET_DIR:-/var/cache/attune-ci/target}}"
AARCH64_TARGET_DIR="${AARCH64_TARGET_DIR:-/var/cache/attune-ci/target-aarch64}"
if [ "$(realpath -m "$HOST_TARGET_DIR")" = "$(realpath -m "$AARCH64_TARGET_DIR")" ]; then
  echo "ci: HOST_TARGET_DIR and AARCH64_TARGET_DIR must differ" >&2
  exit 2
fi
export HOST_TARGET_DIR
export CARGO_TARGET_DIR="$AARCH64_TARGET_DIR"
export DEB_OUT_DIR="${DEB_OUT_DIR:-$AARCH64_TARGET_DIR/debian}"
mkdir -p "$CARGO_TARGET_DIR" "$DEB_OUT_DIR"

host_bin="$HOST_TARGET_DIR/release/attune"

summary=()
t_start=$SECONDS
report() {
  echo
  echo "== ci summary"
  printf '  %s\n' "${summary[@]}"
  echo "  total: $(( SECONDS - t_start )) s"
}
step() {
  local name="$1"; shift
  echo
  echo "######## $name"
  local t0=$SECONDS rc=0
  "$@" || rc=$?
  local dt=$(( SECONDS - t0 ))
  if [ $rc -ne 0 ]; then
    summary+=("FAILED  $name ($dt s, exit $rc)")
    report
    exit 1
  fi
  summary+=("ok      $name ($dt s)")
}

echo "ci: host build $host_bin; aarch64 build dir $AARCH64_TARGET_DIR; .debs to $DEB_OUT_DIR"
echo "ci: $(rustc --version); $(cargo --version)"
if [ ! -x "$host_bin" ]; then
  echo "ci: no native build at $host_bin: run scripts/setup.sh (or .ci/run) first" >&2
  exit 1
fi

step "verify systemd unit" cross/verify-unit.sh "$host_bin"
step "cross build aarch64" cross/build-aarch64.sh
step "qemu smoke test aarch64" cross/smoke-aarch64.sh
step "package amd64 + arm64" cross/package.sh amd64 arm64
ls -l "$DEB_OUT_DIR"/*.deb
report
