#!/usr/bin/env bash
# Install the Node.js peers the test suite drives, into <repo>/.cache/node-tools/.
#
# Why: the conformance suite needs Node >= 22 (the system Node may be 20), and the
# two conformance versions are the same npm package, so each tool gets its own
# install folder, pinned by the package.json + package-lock.json under
# scripts/node/<tool>/. Only the system `npm` and the npm registry are needed.
#
# Idempotent: a stamp holding the hash of every pin file makes a second run a no-op.
# Usage: scripts/node-tools.sh [--force]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
pins="$here/node"
dest="$repo/.cache/node-tools"
stamp="$dest/.stamp"
tools=(node22 conformance-0.1 conformance-0.2 inspector everything)

if ! command -v npm >/dev/null 2>&1; then
    echo "node-tools: npm is not installed (apt-get install nodejs npm)" >&2
    exit 1
fi

want="$(cd "$pins" && cat */package.json */package-lock.json | sha256sum | cut -d' ' -f1)"
node22="$dest/node22/node_modules/.bin/node"
if [[ "${1:-}" != "--force" && -f "$stamp" && "$(cat "$stamp")" == "$want" && -x "$node22" ]]; then
    echo "node-tools: up to date in $dest"
    exit 0
fi

mkdir -p "$dest"
rm -f "$stamp"
for tool in "${tools[@]}"; do
    dir="$dest/$tool"
    mkdir -p "$dir"
    cp "$pins/$tool/package.json" "$pins/$tool/package-lock.json" "$dir/"
    deps="$(cd "$dir" && node -p 'Object.entries(require("./package.json").dependencies).map(([k, v]) => k + "@" + v).join(" ")')"
    echo "node-tools: installing $deps into $dir"
    if ! (cd "$dir" && npm ci --no-audit --no-fund); then
        echo "node-tools: npm ci failed in $dir" >&2
        exit 1
    fi
done
# inspector-cli checks for ../package.json relative to its working directory,
# so it must be started from a subfolder of its install folder.
mkdir -p "$dest/inspector/run"

ver="$("$node22" --version)"
if [[ "$ver" != v22.* ]]; then
    echo "node-tools: expected Node 22 at $node22, got '$ver'" >&2
    exit 1
fi
for tool in conformance-0.1 conformance-0.2; do
    "$node22" "$dest/$tool/node_modules/@modelcontextprotocol/conformance/dist/index.js" --version >/dev/null
done
echo "node-tools: node $ver at $node22"
echo "$want" >"$stamp"
echo "node-tools: done"
