#!/usr/bin/env bash
# The side-by-side benchmark (see benches/compare.py for what it measures).
#   bash benches/compare.sh                  # every section, results printed as Markdown
#   bash benches/compare.sh --only compare   # one section; --seconds N, --rounds N, --out FILE
# Builds hookmock and the floor server in release, and installs what it needs into
# target/bench-tools: oha (cargo install --locked) and Stoplight Prism 5 (npm).
set -euo pipefail
cd "$(dirname "$0")/.."
tools="$PWD/target/bench-tools"
mkdir -p "$tools"

# The bench profile: release's settings, as `cargo bench` builds (it writes to target/release
# too).
cargo build --profile bench --locked --bin hookmock
floor=$(cargo bench --locked --bench floor --no-run --message-format=json 2>/dev/null |
  python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "floor" and m.get("executable"):
        print(m["executable"])')

oha=$(command -v oha || true)
if [ -z "$oha" ]; then
  [ -x "$tools/bin/oha" ] || cargo install --locked --quiet oha --root "$tools"
  oha="$tools/bin/oha"
fi
prism="$tools/prism/node_modules/.bin/prism"
if [ ! -x "$prism" ]; then
  mkdir -p "$tools/prism"
  npm install --silent --no-audit --no-fund --prefix "$tools/prism" @stoplight/prism-cli@5
fi

exec python3 benches/compare.py --oha "$oha" --prism "$prism" --floor "$floor" \
  --command "bash benches/compare.sh${*:+ $*}" "$@"
