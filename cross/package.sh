#!/usr/bin/env bash
# Builds the Debian packages from existing release builds with cargo-deb (`--no-build`: nothing
# is compiled here), then inspects them.
#
#   cross/package.sh [amd64] [arm64]        (default: both)
#
#   HOST_TARGET_DIR    the native build, $HOST_TARGET_DIR/release/attune (default: target)
#   CARGO_TARGET_DIR   the aarch64 build of cross/build-aarch64.sh,
#                      $CARGO_TARGET_DIR/aarch64-unknown-linux-gnu/release/attune (default: target)
#   DEB_OUT_DIR        where the .debs go (default: $CARGO_TARGET_DIR/debian)
#   CARGO_DEB_ROOT     where cargo-deb is installed if it is missing
#                      (default: /var/cache/attune-ci/cargo-bin)
#
# The amd64 package holds the native build as it is. That build compiles whisper.cpp with
# -march=native (ggml's default when not cross-compiling), so it may fail with SIGILL on an older
# x86_64 CPU than the build machine's; for an amd64 package meant for other machines, build with
# GGML_NATIVE=OFF in the environment (whisper-rs-sys passes GGML_* to cmake). The arm64 build is
# cross-compiled, where ggml defaults to the portable ARMv8-A baseline.
#
# Prints dpkg-deb -I / -c of each package and runs lintian when it is installed (its findings
# are reported, not fatal). Exits non-zero if a package cannot be built or lacks a file it must
# contain.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
HOST_TARGET_DIR="${HOST_TARGET_DIR:-target}"
DEB_OUT_DIR="${DEB_OUT_DIR:-$CARGO_TARGET_DIR/debian}"
CARGO_DEB_ROOT="${CARGO_DEB_ROOT:-/var/cache/attune-ci/cargo-bin}"
CARGO_DEB_VERSION="${CARGO_DEB_VERSION:-3.8.0}"
TARGET=aarch64-unknown-linux-gnu

log() { echo "package: $*" >&2; }

archs=("$@")
[ ${#archs[@]} -gt 0 ] || archs=(amd64 arm64)

# --- cargo-deb --------------------------------------------------------------------------------
export PATH="$CARGO_DEB_ROOT/bin:$PATH"
if ! cargo deb --version >/dev/null 2>&1; then
  log "installing cargo-deb $CARGO_DEB_VERSION into $CARGO_DEB_ROOT"
  # Its own target dir, never the project's (the main build's lock must not be taken).
  CARGO_TARGET_DIR="$CARGO_DEB_ROOT/build" \
    cargo install cargo-deb --version "$CARGO_DEB_VERSION" --locked --root "$CARGO_DEB_ROOT"
fi
log "$(cargo deb --version)"
mkdir -p "$DEB_OUT_DIR"

# Files every package must contain (dpkg-deb -c paths).
required=(
  ./usr/bin/attune
  ./etc/attune/attune.toml
  ./etc/attune/knowledge.toml
  ./usr/lib/systemd/system/attune.service
  ./usr/share/attune/models/stress-arousal.onnx
  ./usr/share/doc/attune/models/manifest.toml
  ./usr/share/doc/attune/deploy.md
  ./usr/share/doc/attune/examples/mosquitto-example.conf
)

inspect() {
  local deb="$1" arch="$2"
  echo
  echo "== $(basename "$deb") ($(du -h "$deb" | cut -f1), $(stat -c %s "$deb") bytes)"
  dpkg-deb -I "$deb"
  echo "-- contents"
  dpkg-deb -c "$deb" | tee "$deb.contents"
  local missing=0 f
  for f in "${required[@]}"; do
    if ! awk '{print $6}' "$deb.contents" | grep -qx -- "$f"; then
      log "$(basename "$deb") lacks $f"; missing=1
    fi
  done
  rm -f "$deb.contents"
  local got
  got="$(dpkg-deb -f "$deb" Architecture)"
  [ "$got" = "$arch" ] || { log "$(basename "$deb") has Architecture: $got, expected $arch"; missing=1; }
  # The packaged binary must be for the package's architecture.
  local tmp; tmp="$(mktemp -d)"
  dpkg-deb -x "$deb" "$tmp"
  echo "-- usr/bin/attune: $(file -b "$tmp/usr/bin/attune" 2>/dev/null | cut -d, -f1-2)"
  case "$arch:$(od -An -tx1 -j18 -N2 "$tmp/usr/bin/attune" | tr -d ' ')" in
    amd64:3e00|arm64:b700) ;;
    *) log "usr/bin/attune in $(basename "$deb") is not an $arch binary"; missing=1 ;;
  esac
  rm -rf "$tmp"
  if command -v lintian >/dev/null; then
    echo "-- lintian"
    lintian --tag-display-limit 0 "$deb" || true
  else
    echo "-- lintian: not installed (apt install lintian), skipped"
  fi
  return $missing
}

status=0
for arch in "${archs[@]}"; do
  case "$arch" in
    amd64)
      bin="$HOST_TARGET_DIR/release/attune"
      args=()
      tdir="$HOST_TARGET_DIR"
      ;;
    arm64)
      bin="$CARGO_TARGET_DIR/$TARGET/release/attune"
      # Strip with the cross binutils; cargo-deb runs dpkg-shlibdeps for $auto with the arm64
      # multiarch libraries installed by build-aarch64.sh.
      args=(--target "$TARGET")
      tdir="$CARGO_TARGET_DIR"
      ;;
    *) log "unknown architecture $arch (amd64 or arm64)"; exit 2 ;;
  esac
  if [ ! -x "$bin" ]; then
    log "no $arch binary at $bin: build it first (cargo build --release / cross/build-aarch64.sh)"
    status=1; continue
  fi
  log "cargo deb --no-build ${args[*]} ($bin)"
  t0=$SECONDS
  if ! deb="$(CARGO_TARGET_DIR="$tdir" cargo deb --no-build --locked "${args[@]}" \
                --output "$DEB_OUT_DIR" 2> "$DEB_OUT_DIR/cargo-deb-$arch.log" | tail -n 1)"; then
    cat "$DEB_OUT_DIR/cargo-deb-$arch.log" >&2
    log "cargo deb failed for $arch"
    status=1; continue
  fi
  grep -v '^$' "$DEB_OUT_DIR/cargo-deb-$arch.log" >&2 || true
  log "$deb ($(( SECONDS - t0 )) s)"
  inspect "$deb" "$arch" || status=1
done
exit $status
