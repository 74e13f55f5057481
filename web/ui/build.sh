#!/usr/bin/env bash
# Builds the dashboard's front-end assets into web/ui/dist from the npm packages pinned in
# package.json and package-lock.json (make ui). Skips the work when dist is newer than its inputs.
set -euo pipefail
cd "$(dirname "$0")"
command -v npm >/dev/null || { echo "make ui needs node and npm (apt-get install nodejs npm)" >&2; exit 1; }
stamp=dist/.built
if [ -f "$stamp" ] && [ -z "$(find package.json package-lock.json src build.sh -newer "$stamp" -print -quit 2>/dev/null)" ]; then
  exit 0
fi
[ -d node_modules ] && [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund --loglevel=error
find dist -mindepth 1 ! -name README.md -delete
cp node_modules/htmx.org/dist/htmx.min.js dist/
cp node_modules/htmx-ext-sse/dist/sse.min.js dist/
cp node_modules/@xterm/xterm/css/xterm.css dist/
islands=(src/*.js)
if [ -e "${islands[0]}" ]; then
  node_modules/.bin/esbuild "${islands[@]}" --bundle --minify --format=esm --target=es2022 --outdir=dist --log-level=warning
fi
mkdir -p dist/licenses
for p in htmx.org htmx-ext-sse @novnc/novnc @xterm/xterm @xterm/addon-fit @xterm/addon-attach; do
  for f in node_modules/$p/LICENSE*; do [ -e "$f" ] && cp "$f" "dist/licenses/$(echo "$p" | tr / _).txt"; done
done
touch "$stamp"
