#!/usr/bin/env bash
# Copies the pure-Python packages the GPU image lacks (hydra-core, omegaconf, antlr4 runtime)
# from this checkout's venv into .pydeps/ (git-ignored), for a device call that carries it.
set -eu
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
SITE=$("$PY" -c "import omegaconf, os; print(os.path.dirname(os.path.dirname(omegaconf.__file__)))")
rm -rf .pydeps && mkdir -p .pydeps
for pkg in hydra omegaconf antlr4; do
    cp -r "$SITE/$pkg" .pydeps/
done
cp -r "$SITE"/hydra_core-*.dist-info "$SITE"/omegaconf-*.dist-info "$SITE"/antlr4_python3_runtime-*.dist-info .pydeps/
find .pydeps -name __pycache__ -prune -exec rm -rf {} +
du -sh .pydeps
