#!/usr/bin/env bash
# Cross-compiles attune for 64-bit Raspberry Pi OS (aarch64-unknown-linux-gnu) on a Debian 12
# x86_64 host, without Docker: Debian's cross compilers and multiarch arm64 -dev packages.
#
#   cross/build-aarch64.sh [extra cargo args]
#
# Output: ${CARGO_TARGET_DIR:-target}/aarch64-unknown-linux-gnu/release/attune
#
# Idempotent: packages, the arm64 dpkg architecture and the rustup target are only added when
# missing (installing needs root or sudo). Set ATTUNE_NO_APT=1 to never call apt-get (CI images
# that are prepared in advance); missing packages are then an error.
#
# The binary is built for the baseline ARMv8-A, so one build runs on both the Pi 4 (Cortex-A72)
# and the Pi 5 (Cortex-A76). For a Pi-5-only build, whisper.cpp can use the A76's dot-product and
# fp16 instructions: GGML_CPU_ARM_ARCH=armv8.2-a+dotprod+fp16 cross/build-aarch64.sh
# (whisper-rs-sys passes every GGML_* variable to whisper.cpp's cmake). Changing it rebuilds
# whisper.cpp.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET=aarch64-unknown-linux-gnu
TRIPLE=aarch64-linux-gnu          # Debian's GNU triplet / multiarch directory name
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"

log() { echo "build-aarch64: $*" >&2; }

sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)

# --- 1. Debian packages ---------------------------------------------------------------------
# Host tools: the cross compilers (they pull in libc6-dev-arm64-cross, i.e. the glibc 2.36
# sysroot in /usr/aarch64-linux-gnu, the same glibc as Raspberry Pi OS bookworm), cmake for
# whisper.cpp and espeak-ng, clang/libclang for bindgen, pkg-config for alsa-sys.
# Target libraries (multiarch arm64): ALSA for cpal, libsonic for espeak-ng (linked by build.rs
# with -l sonic). They are Multi-Arch: same, so they install beside the amd64 ones.
# libstdc++6:arm64 is not needed to build; it lets cargo-deb's $auto (dpkg-shlibdeps) resolve a
# proper "libstdc++6 (>= 11)" dependency instead of the cross toolchain's unversioned
# "libstdc++6:arm64".
host_pkgs=(gcc-aarch64-linux-gnu g++-aarch64-linux-gnu cmake clang libclang-dev pkg-config)
target_pkgs=(libasound2-dev:arm64 libsonic-dev:arm64 libstdc++6:arm64)

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

missing=()
for p in "${host_pkgs[@]}" "${target_pkgs[@]}"; do
  installed "$p" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "${ATTUNE_NO_APT:-0}" = 1 ]; then
    log "missing packages: ${missing[*]} (ATTUNE_NO_APT=1, not installing)"
    exit 1
  fi
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    log "adding the arm64 dpkg architecture"
    "${sudo_cmd[@]}" dpkg --add-architecture arm64
  fi
  log "installing ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}"
fi

# --- 2. Rust target -------------------------------------------------------------------------
if ! rustup target list --installed | grep -qx "$TARGET"; then
  log "rustup target add $TARGET"
  rustup target add "$TARGET"
fi

# --- 3. Cross environment -------------------------------------------------------------------
# Target-suffixed variables only, so build scripts and proc-macros compiled for the host are
# unaffected (and the host's own build cache stays valid).
#
# cc crate (ring, libsqlite3-sys, and the compilers the cmake crate hands to cmake):
export CC_aarch64_unknown_linux_gnu="${TRIPLE}-gcc"
export CXX_aarch64_unknown_linux_gnu="${TRIPLE}-g++"
export AR_aarch64_unknown_linux_gnu="${TRIPLE}-ar"
# rustc's linker; -L makes the arm64 multiarch libraries (libsonic.so, libasound.so) visible to
# the final link. Debian's cross gcc searches /usr/lib/aarch64-linux-gnu itself; the explicit
# path keeps other toolchains honest.
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER="${TRIPLE}-gcc"
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUSTFLAGS="${CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUSTFLAGS:--L native=/usr/lib/${TRIPLE}}"
# bindgen (whisper-rs-sys, espeak-rs-sys): libclang parses the C headers for the target; the
# cross glibc headers live under the sysroot /usr/aarch64-linux-gnu/include. Without the
# sysroot, whisper-rs-sys silently falls back to its bundled bindings ("Unable to generate
# bindings" warning) and espeak-rs-sys fails on <stdio.h>-style includes. Neither bindgen needs
# more than the sysroot (their headers are vendored); -I/usr/include/aarch64-linux-gnu only
# matters if libc6-dev:arm64 is installed, and is kept so that variant works too.
export BINDGEN_EXTRA_CLANG_ARGS_aarch64_unknown_linux_gnu="--sysroot=/usr/${TRIPLE} -I/usr/include/${TRIPLE}"
# pkg-config crate (alsa-sys): arm64 .pc files only, never the host's.
export PKG_CONFIG_ALLOW_CROSS_aarch64_unknown_linux_gnu=1
export PKG_CONFIG_LIBDIR_aarch64_unknown_linux_gnu="/usr/lib/${TRIPLE}/pkgconfig:/usr/share/pkgconfig"
export PKG_CONFIG_PATH_aarch64_unknown_linux_gnu=""
export PKG_CONFIG_SYSROOT_DIR_aarch64_unknown_linux_gnu=/
# The cmake crate sets CMAKE_SYSTEM_NAME=Linux / CMAKE_SYSTEM_PROCESSOR=aarch64 itself when
# target != host and hands cmake the compilers from CC_/CXX_ above; CMake then derives
# CMAKE_LIBRARY_ARCHITECTURE=aarch64-linux-gnu from the compiler, so espeak-ng's
# find_library(sonic) finds /usr/lib/aarch64-linux-gnu/libsonic.so (if it did not, espeak-ng
# would try to git-clone sonic and fail offline). No CMake toolchain file is needed here. If
# you add one (CMAKE_TOOLCHAIN_FILE_aarch64_unknown_linux_gnu), do not restrict
# CMAKE_FIND_ROOT_PATH to /usr/aarch64-linux-gnu, or libsonic is not found (cross-rs's
# image does exactly that; see Cross.toml). Note that whisper-rs-sys passes every CMAKE_*,
# GGML_* and WHISPER_* environment variable to whisper.cpp's cmake as a -D definition.

# --- 4. Build -------------------------------------------------------------------------------
log "cargo build --release --locked --target $TARGET (CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
start=$(date +%s)
cargo build --release --locked --target "$TARGET" --bin attune "$@"
bin="$CARGO_TARGET_DIR/$TARGET/release/attune"
log "built $bin in $(( $(date +%s) - start )) s"
file "$bin" 2>/dev/null || true
