#!/usr/bin/env bash
# Installs what the project needs beyond the Rust toolchain. Idempotent.
set -euo pipefail
missing=()
command -v rustfmt >/dev/null 2>&1 || rustup component add rustfmt
cargo clippy --version >/dev/null 2>&1 || rustup component add clippy
command -v g++ >/dev/null 2>&1 || missing+=(g++)
# Headless Chromium for the report's rendering test (skipped with a message if absent).
[ -x /usr/bin/chromium ] || missing+=(chromium)
if [ "${#missing[@]}" -gt 0 ]; then
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; }; then
    echo "setup: could not install ${missing[*]}; tests that need them will say they are skipped" >&2
  fi
fi
