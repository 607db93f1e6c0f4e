#!/usr/bin/env bash
# Fetch the third-party browser assets the book serves itself (no CDN at read time):
# MathJax 3, RequireJS and the @jupyter-widgets html-manager, from the npm registry, with licences.
# They go to _vendor/vendor/ (copied by Sphinx to _build/html/vendor/), never under _static/.
set -euo pipefail
cd "$(dirname "$0")/.."
MATHJAX=3.2.2
REQUIREJS=2.3.7
HTMLMANAGER=1.0.15
out=_vendor/vendor
stamp="$out/.versions"
want="mathjax@$MATHJAX requirejs@$REQUIREJS html-manager@$HTMLMANAGER"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then exit 0; fi
command -v npm >/dev/null || { echo "vendor.sh: npm is required (Node.js) to fetch MathJax" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "mathjax@$MATHJAX" "requirejs@$REQUIREJS" \
   "@jupyter-widgets/html-manager@$HTMLMANAGER" >/dev/null)
rm -rf "$out" && mkdir -p "$out"/{mathjax,requirejs,html-manager}
tar xzf "$tmp/mathjax-$MATHJAX.tgz" -C "$tmp" && mv "$tmp/package" "$tmp/mathjax"
cp -r "$tmp/mathjax/es5/." "$out/mathjax/" && cp "$tmp/mathjax/LICENSE" "$out/mathjax/LICENSE"
tar xzf "$tmp/requirejs-$REQUIREJS.tgz" -C "$tmp" && mv "$tmp/package" "$tmp/requirejs"
cp "$tmp/requirejs/require.js" "$tmp/requirejs/package.json" "$out/requirejs/"
printf "RequireJS %s is released under the MIT license (see package.json and\nhttps://github.com/requirejs/requirejs/blob/master/LICENSE).\n" "$REQUIREJS" > "$out/requirejs/LICENSE"
tar xzf "$tmp/jupyter-widgets-html-manager-$HTMLMANAGER.tgz" -C "$tmp" && mv "$tmp/package" "$tmp/hm"
cp "$tmp/hm/dist/"*.js "$tmp/hm/dist/embed.js.LICENSE.txt" "$tmp/hm/package.json" "$out/html-manager/"
printf "@jupyter-widgets/html-manager %s is released under the BSD-3-Clause license\n(see package.json; bundled third-party notices in embed.js.LICENSE.txt).\n" "$HTMLMANAGER" > "$out/html-manager/LICENSE"
cp -r "$tmp/hm/dist/"*.woff* "$tmp/hm/dist/"*.eot "$tmp/hm/dist/"*.ttf "$tmp/hm/dist/"*.svg "$out/html-manager/" 2>/dev/null || true
echo "$want" > "$stamp"
echo "vendored: $want"
