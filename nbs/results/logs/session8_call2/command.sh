export PYTHONPATH=$PWD TRITON_DEFAULT_FP_FUSION=1
DEADLINE=75 python dev/gpu_session.py check > /dev/null 2>&1
grep -a "exit\|pass\|FAIL" $OUT/log.txt | tail -3; tail -3 $OUT/check/*.txt 2>/dev/null | cut -c1-300
mkdir -p $OUT/perf; OUT=$OUT/perf DEADLINE=80 timeout 95 python dev/gpu_perf.py launch times > /dev/null 2>&1
grep -a "launch B\|launch parts\|times batch 32\|times batch 64\|131072" $OUT/perf/perf_log.txt | cut -c1-420
DEADLINE=400 python dev/gpu_session.py kernels models long-models > /dev/null 2>&1
tail -5 $OUT/log.txt
