#!/usr/bin/env bash
# Smoke-tests the cross-built aarch64 binary under user-mode emulation (qemu-user-static), on
# an emulated Cortex-A72 (the Raspberry Pi 4's core, the oldest the binary must run on), so an
# instruction the Pi 4 lacks shows up as SIGILL here.
#
#   cross/smoke-aarch64.sh
#
# Needs: cross/build-aarch64.sh run first (same CARGO_TARGET_DIR), and the models fetched into
# the checkout's models/ (scripts/setup.sh does that). Environment:
#   CARGO_TARGET_DIR       where the aarch64 build is (default: target)
#   HOST_TARGET_DIR        the host (x86_64) build, used to fetch the aarch64 ONNX Runtime and
#                          to compare results (default: target; optional)
#   ATTUNE_SMOKE_MODELS    scratch model directory (default: $CARGO_TARGET_DIR/aarch64-smoke-models)
#   ATTUNE_SMOKE_FULL=1    also run the slow checks: Piper load + synthesis through the aarch64
#                          ONNX Runtime, and whisper on a 2 s clip (each takes 10+ minutes under
#                          emulation; off by default)
#   QEMU_CPU               emulated CPU (default cortex-a72; cortex-a76 for a Pi 5)
#
# What is checked by default (about a minute):
#   1. attune --version
#   2. attune check-config systemd/attune.toml
#   3. every model file's size and sha256, the aarch64 ONNX Runtime library's ELF header, and
#      that whisper.cpp loads both ggml files and tract loads and optimises the Silero VAD graph
#   4. the acoustic stress classifier (feature extraction + tract inference) on two 2 s clips,
#      compared with the host build's scores when a host build with `eval` exists
# Not run by default, and why: whisper inference and Piper synthesis are compute-bound
# SIMD work that qemu runs thousands of times slower than the hardware (measured here: more
# than 10 minutes for one 2 s clip); they are covered by the native test suite, and on a Pi by
# `attune models verify` and `attune transcribe`. There is no command that runs the VAD alone;
# step 3 loads and optimises its graph.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET=aarch64-unknown-linux-gnu
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
HOST_TARGET_DIR="${HOST_TARGET_DIR:-target}"
bin="$CARGO_TARGET_DIR/$TARGET/release/attune"
host_bin="$HOST_TARGET_DIR/release/attune"
smoke_models="${ATTUNE_SMOKE_MODELS:-$CARGO_TARGET_DIR/aarch64-smoke-models}"
export QEMU_CPU="${QEMU_CPU:-cortex-a72}"

log() { echo "smoke-aarch64: $*" >&2; }
step() { echo; echo "== $*"; }

if [ ! -x "$bin" ]; then
  log "no aarch64 binary at $bin (run cross/build-aarch64.sh first)"
  exit 1
fi

# --- packages: the emulator, the arm64 runtime libraries and espeak-ng-data for Piper --------
# libasound2/libsonic0:arm64 come with the -dev packages build-aarch64.sh installs;
# espeak-ng-data:arm64 puts the data where an aarch64 attune looks for it
# (/usr/lib/aarch64-linux-gnu/espeak-ng-data), as on the Pi.
need=()
for p in qemu-user-static libasound2:arm64 libsonic0:arm64 espeak-ng-data:arm64; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  if [ "${ATTUNE_NO_APT:-0}" = 1 ]; then
    log "missing packages: ${need[*]} (ATTUNE_NO_APT=1, not installing)"
    exit 1
  fi
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  dpkg --print-foreign-architectures | grep -qx arm64 || "${sudo_cmd[@]}" dpkg --add-architecture arm64
  log "installing ${need[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
    "${need[@]}" >/dev/null
fi

# The glibc, libstdc++ and loader of the cross toolchain (/usr/aarch64-linux-gnu); the loader
# also searches /usr/lib/aarch64-linux-gnu, where libasound and libsonic are.
run() { qemu-aarch64-static -L /usr/aarch64-linux-gnu "$bin" "$@"; }
timed() {
  local t0=$SECONDS rc=0
  "$@" || rc=$?
  echo "   ($(( SECONDS - t0 )) s, exit $rc)"
  return $rc
}

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
start=$SECONDS
echo "smoke-aarch64: $bin under qemu-aarch64-static -cpu $QEMU_CPU"

step "1. attune --version"
timed run --version

step "2. attune check-config systemd/attune.toml"
# Model paths resolve against the smoke model directory prepared in step 3 when it exists;
# missing models are warnings and the exit status stays 0.
ATTUNE_MODELS_DIR="$smoke_models" timed run check-config systemd/attune.toml

step "3. models: files, hashes, whisper and VAD load"
# A scratch model directory: links to the checkout's files plus the aarch64 ONNX Runtime, so
# the checkout's models/ is never written to.
src_models="$(pwd)/models"
if [ ! -f "$src_models/ggml-tiny.en-q8_0.bin" ]; then
  log "models/ has no fetched models (run scripts/setup.sh or attune models fetch first)"
  exit 1
fi
mkdir -p "$smoke_models"
(cd "$src_models" && find . -path ./training -prune -o \( -type f -o -type l \) -print) |
  while IFS= read -r f; do
    case "$f" in ./.fetch-work/*|./onnxruntime/aarch64/*) continue ;; esac
    mkdir -p "$smoke_models/$(dirname "$f")"
    ln -sfn "$src_models/${f#./}" "$smoke_models/$f"
  done
fetcher=(run)
[ -x "$host_bin" ] && fetcher=("$host_bin")
echo "   fetching what is missing for aarch64 (the ONNX Runtime library) with ${fetcher[0]}"
timed "${fetcher[@]}" models fetch --arch aarch64 --dir "$smoke_models" 2>&1 | tail -n 2
# `--arch x86_64` under emulation: every file is size- and sha256-checked and whisper and the
# VAD are loaded by the aarch64 code, but the Piper voice is not loaded (that runs a test
# synthesis through ONNX Runtime: too slow under emulation, see above). The aarch64 ONNX
# Runtime is checked separately below.
timed run models verify --arch x86_64 --dir "$smoke_models"
ort="$(ls "$smoke_models"/onnxruntime/aarch64/libonnxruntime.so.* 2>/dev/null | head -n 1)"
if [ -z "$ort" ]; then
  log "no aarch64 ONNX Runtime in $smoke_models/onnxruntime/aarch64"
  exit 1
fi
if command -v readelf >/dev/null; then
  machine="$(readelf -h "$ort" | sed -n 's/^ *Machine: *//p')"
  echo "   $(basename "$ort"): $machine"
  case "$machine" in *AArch64*) ;; *) log "ONNX Runtime is not an AArch64 library"; exit 1 ;; esac
  # W^X (MemoryDenyWriteExecute= in the unit): no executable stack, no text relocations.
  if readelf -lW "$ort" | grep GNU_STACK | grep -q 'RWE'; then
    log "ONNX Runtime wants an executable stack: MemoryDenyWriteExecute= would break it"; exit 1
  fi
  if readelf -dW "$ort" | grep -q TEXTREL; then
    log "ONNX Runtime has text relocations: MemoryDenyWriteExecute= would break it"; exit 1
  fi
fi
if [ "${ATTUNE_SMOKE_FULL:-0}" = 1 ]; then
  echo "   ATTUNE_SMOKE_FULL=1: models verify --arch aarch64 (loads Piper through the aarch64 ONNX Runtime; slow)"
  timed run models verify --arch aarch64 --dir "$smoke_models"
fi

step "4. stress classifier on two 2 s clips"
clips=(tests/fixtures/demo/01-calm-toilets.wav:low tests/fixtures/demo/04-distressed.wav:high)
echo "path,arousal" > "$work/labels.csv"
for c in "${clips[@]}"; do
  wav="${c%%:*}" label="${c##*:}" name="$(basename "${c%%:*}")"
  if command -v sox >/dev/null; then
    sox "$wav" "$work/$name" trim 0 2
  else
    cp "$wav" "$work/$name"   # whole clip (3-5 s)
  fi
  echo "$name,$label" >> "$work/labels.csv"
done
if ! run eval --help >/dev/null 2>&1; then
  echo "   skipped: this build has no \`attune eval\`"
else
  ATTUNE_MODELS_DIR="$smoke_models" timed run eval stress --labels "$work/labels.csv" \
    | tee "$work/aarch64.out"
  if [ -x "$host_bin" ] && "$host_bin" eval --help >/dev/null 2>&1; then
    ATTUNE_MODELS_DIR="$smoke_models" "$host_bin" eval stress --labels "$work/labels.csv" \
      > "$work/host.out"
    if [ "$(tail -n 1 "$work/aarch64.out")" = "$(tail -n 1 "$work/host.out")" ]; then
      echo "   same result as the host build"
    else
      echo "   host build says: $(tail -n 1 "$work/host.out")"
      log "aarch64 and host builds disagree on the stress classifier"
      exit 1
    fi
  fi
fi

if [ "${ATTUNE_SMOKE_FULL:-0}" = 1 ]; then
  step "5. whisper on a 2 s clip (ATTUNE_SMOKE_FULL=1; slow under emulation)"
  ATTUNE_MODELS_DIR="$smoke_models" timed run transcribe "$work/$(basename "${clips[0]%%:*}")"
else
  step "5. whisper inference and Piper synthesis: skipped (compute-bound SIMD code runs thousands of times slower under qemu; ATTUNE_SMOKE_FULL=1 runs them)"
fi

echo
echo "smoke-aarch64: passed in $(( SECONDS - start )) s"
