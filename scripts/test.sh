#!/usr/bin/env bash
# Runs every test in release mode (the engines are too slow unoptimised). Tests that use the
# recordings in ../shared/data read them from ATTUNE_TEST_DATA.
set -euo pipefail
cd "$(dirname "$0")/.."
export ATTUNE_TEST_DATA="${ATTUNE_TEST_DATA:-$(cd .. && pwd)/shared/data}"
# One test at a time: whisper.cpp's worker threads spin, and two engines competing for
# two cores slow each other down many times over.
cargo test --release --locked --workspace -- --test-threads=1
