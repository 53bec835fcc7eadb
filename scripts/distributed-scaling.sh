#!/usr/bin/env bash
# The distributed scaling figures on a many-core machine: the mlp workload at 1, 2, 4 and 8
# ranks, chainrule (MPI) against PyTorch DistributedDataParallel (gloo), bucketed and
# per-tensor, plus the two-rank equivalence tests. Builds chainrule's kernels in place;
# installs mpi4py and Open MPI from wheels in ./.whl when the machine has no mpiexec
# (for a machine without network: pip download them there first).
#   usage: [REPS=3] [STEPS=468] scripts/distributed-scaling.sh OUT_DIR [RANKS...]
set -euo pipefail
out="${1:?usage: $0 OUT_DIR [RANKS...]}"; shift
ranks=("${@:-1 2 4 8}")
mkdir -p "$out"
if ! command -v mpiexec >/dev/null && [ -d .whl ]; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/mpi-site .whl/*.whl
    export PYTHONPATH="/tmp/mpi-site${PYTHONPATH:+:$PYTHONPATH}" PATH="/tmp/mpi-site/bin:$PATH"
fi
python3 setup.py -q build_ext --inplace >/dev/null 2>&1 || echo "kernels not built: chainrule runs its NumPy paths"
export PYTHONPATH="$PWD/src:$PWD${PYTHONPATH:+:$PYTHONPATH}"
{
    echo "machine: $(nproc) cores, $(python3 -c 'import platform; print(platform.python_version())'), load $(cut -d' ' -f1-3 /proc/loadavg)"
    python3 -c 'import chainrule.kernels as k; print("chainrule kernels:", k.AVAILABLE)'
    python3 -m pytest -q -p no:cacheprovider tests/test_distributed.py -k "two_ranks or raises or stops_taking" 2>&1 | tail -3
} | tee "$out/checks.txt"
python3 -m benchmarks.distributed --ranks ${ranks[*]} --reps "${REPS:-3}" --steps "${STEPS:-468}" --buckets --cores "$(nproc)" \
    --out "$out/distributed-$(nproc)core.json" | tee "$out/scaling.txt"
