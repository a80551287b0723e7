#!/usr/bin/env bash
# On a lent GPU, before submitting kernel or op changes: the check grid, the `#| cuda` cells of 04_model and
# 03_attention, compiled training of three kinds at ctx 512, and the kernels against SDPA and Flex at two shapes,
# within ~565 s. Needs .device_data/pylib carried (fastcore, from `python dev/gpu_session.py prepare`); results in $OUT.
export PYTHONPATH=$PWD; T0=$(date +%s); left() { echo $(( 565 - ($(date +%s) - T0) )); }
CLI="import sys; from fibonacci_attention.cli import main; sys.exit(main(sys.argv[1:]))"
python -c "$CLI" bench check --out $OUT/check > $OUT/check_log.txt 2>&1; echo "check rc=$? $(tail -1 $OUT/check_log.txt) t=$(( $(date +%s)-T0 ))"
timeout 290 python dev/gpu_cells.py 04_model > $OUT/cells_04.txt 2>&1; echo "cells04 rc=$? t=$(( $(date +%s)-T0 ))"; tail -2 $OUT/cells_04.txt
timeout $(( $(left) - 200 )) python dev/gpu_cells.py 03_attention > $OUT/cells_03.txt 2>&1; echo "cells03 rc=$? t=$(( $(date +%s)-T0 ))"; tail -2 $OUT/cells_03.txt
timeout $(( $(left) - 60 )) python -c "$CLI" bench models --kinds dense fib-fixed fib-learned --shapes 512:64 --modes graphs --latency-modes --steps 20 --out $OUT/models > $OUT/models_log.txt 2>&1; echo "models rc=$? t=$(( $(date +%s)-T0 ))"; grep "train" $OUT/models_log.txt
timeout $(( $(left) - 5 )) python -c "
import torch, sys
from fibonacci_attention.bench import bench_shape, write_csv
rows = []
for b, n in ((1, 131072), (32, 1024)):
    rows += bench_shape(b, n); [r.update(device=torch.cuda.get_device_name()) for r in rows]; write_csv(rows, '$OUT/kernel_bench.csv')
" > $OUT/kernels_log.txt 2>&1; echo "kernels rc=$? t=$(( $(date +%s)-T0 ))"; grep -v Warn $OUT/kernels_log.txt | tail -12
