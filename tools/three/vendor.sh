#!/usr/bin/env bash
# Copy the pinned three.js (package-lock.json beside this script) into the dashboard's
# files, node/api/web/vendor/three, laid out as in the npm package. The only change: the
# add-ons' bare `from 'three'` becomes a relative path to build/three.module.js, since the
# dashboard's Content-Security-Policy forbids the inline import map that would resolve it.
# Run by `make vendor-three`; the result is committed (the node fetches nothing at run time).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/../../node/api/web/vendor/three"
cd "$here"
npm ci --no-audit --no-fund --loglevel=error
src="$here/node_modules/three"
rm -rf "$out"
mkdir -p "$out/build" "$out/examples/jsm/loaders" "$out/examples/jsm/controls" \
  "$out/examples/jsm/utils" "$out/examples/jsm/libs"
cp "$src/LICENSE" "$out/LICENSE"
cp "$src/build/three.module.js" "$src/build/three.core.js" "$out/build/"
for f in loaders/STLLoader.js loaders/3MFLoader.js controls/OrbitControls.js \
  utils/BufferGeometryUtils.js libs/fflate.module.js; do
  sed "s#from 'three';#from '../../../build/three.module.js';#" "$src/examples/jsm/$f" \
    >"$out/examples/jsm/$f"
done
node -e 'console.log(require(process.argv[1]).version)' "$src/package.json" >"$out/VERSION"
echo "three $(cat "$out/VERSION") -> $out"
