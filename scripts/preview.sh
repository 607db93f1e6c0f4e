#!/usr/bin/env bash
# Build a one-chapter preview of the book in its own folder (safe to run beside other builds),
# and take full-page screenshots of it in headless Chromium.
#   bash scripts/preview.sh book/01-feedforward.ipynb [outdir]
# Prints the folder with html/ and screenshots/. Warnings are errors, as in the real build.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
nb=$1
name=$(basename "$nb" .ipynb)
out=${2:-/tmp/nnbook-preview-$name}
rm -rf "$out/src" && mkdir -p "$out/src/book"
cp -r "$root/_config.yml" "$root/_ext" "$root/_static" "$out/src/"
cp "$root/references.bib" "$out/src/"      # the bibliography (a missing file fails every {cite})
ln -s "$root/_vendor" "$out/src/_vendor"
cp "$root/book/intro.md" "$root/book/notation.md" "$out/src/book/"
cp "$root/$nb" "$out/src/book/"
cat > "$out/src/_toc.yml" <<TOC
format: jb-book
root: book/intro
chapters:
  - file: book/notation
  - file: book/$name
TOC
cd "$out/src"
"$root/.venv/bin/jupyter-book" build -W -n --keep-going --path-output "$out" . 2>&1 | grep -E "WARNING|ERROR|rror|succeeded|problems" || true
"$root/.venv/bin/python" "$root/scripts/screenshot.py" "$out/_build/html" "book/$name.html" "$out/screenshots"
echo "$out"
