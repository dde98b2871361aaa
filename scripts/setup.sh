#!/usr/bin/env bash
# Set up a machine for asyncrender: TeX Live (Debian/Ubuntu packages) and the Python package.
#   bash scripts/setup.sh           the tool itself
#   bash scripts/setup.sh --test    the tool and what the tests and benchmarks need
# On other systems install TeX Live with latex, dvipng, preview.sty and mylatexformat by hand
# (e.g. MacTeX, or `tlmgr install preview mylatexformat dvipng`); without TeX, asyncrender falls
# back to matplotlib's mathtext.
set -euo pipefail
cd "$(dirname "$0")/.."

tex_packages=(texlive-latex-base texlive-latex-recommended texlive-fonts-recommended
              texlive-latex-extra preview-latex-style dvipng lmodern)
if ! { command -v latex && command -v dvipng && kpsewhich preview.sty && kpsewhich mylatexformat.ltx && kpsewhich lmodern.sty; } >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1; then
        sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${tex_packages[@]}" >/dev/null
    else
        echo "setup: no apt-get here; install TeX Live (latex, dvipng, preview, mylatexformat) yourself." >&2
    fi
fi

extra=""
[ "${1:-}" = "--test" ] && extra="[test]"
python3 -m pip install --quiet --disable-pip-version-check -e ".${extra}"
# An editable install compiles nothing, and where PYTHONDONTWRITEBYTECODE is set Python never
# writes its bytecode cache: every start would compile asyncrender from source (~0.1 s).
python3 -m compileall -q asyncrender >/dev/null
# Under pyenv, a new console script is found on PATH only after a rehash.
if command -v pyenv >/dev/null 2>&1; then pyenv rehash || true; fi
