#!/usr/bin/env bash
# Refreshes static/mqtt.min.js from the pinned npm package (package.json,
# package-lock.json). Needs npm and the registry; make test and go build do not.
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund --ignore-scripts
cp node_modules/mqtt/dist/mqtt.min.js static/mqtt.min.js
rm -rf node_modules
echo "static/mqtt.min.js from mqtt $(node -p 'require("./package-lock.json").packages["node_modules/mqtt"].version')"
