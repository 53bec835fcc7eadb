#!/usr/bin/env bash
# Install Debian's Fashion-MNIST package, its fortunes and wamerican text (the corpora
# of chainrule train --model charlm), Graphviz (which draws cr.draw_graph's pictures)
# and a C compiler (which builds the fused optimizer kernels at install) when they are
# not already here and apt is usable (root, or passwordless sudo).
# Otherwise chainrule finds the data through --root, $CHAINRULE_DATA, its cache, or
# downloads it, and its optimizers run their NumPy path.
set -euo pipefail
if dpkg -s dataset-fashion-mnist fortunes wamerican >/dev/null 2>&1 && command -v dot >/dev/null 2>&1 && command -v cc >/dev/null 2>&1; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-data: apt-get not found; chainrule will look for the data elsewhere" >&2
    exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
else
    echo "install-data: not root; run 'sudo apt-get install dataset-fashion-mnist fortunes wamerican graphviz gcc' or set CHAINRULE_DATA" >&2
    exit 0
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq dataset-fashion-mnist fortunes wamerican graphviz gcc >/dev/null
echo "install-data: installed dataset-fashion-mnist, fortunes, wamerican, graphviz and gcc"
