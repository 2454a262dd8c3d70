#!/usr/bin/env bash
# The GPU checks of deploy/README.md ("GPU image and checklist") and issue 16's packed sweep, on one
# GPU node, in one go. Runs from the repository root with `node` on PATH and dist/ built; writes
# everything under OUT (default /tmp/trellis-gpu-check):
#   info.txt        nvidia-smi, driver, torch, node versions; `trellis worker --list-gpus`
#   coordinator.log / worker.log
#   metrics.txt     the worker's Prometheus metrics (trellis_worker_gpu_memory_bytes)
#   smi.csv         nvidia-smi samples every 250 ms: time, utilization.gpu %, memory.used MiB
#   runs.json       per variant: experiment id, wall seconds, and the trials (trellis trials --json)
# Variants of one sweep (TRIALS trials of bench/gpu/probe.py, 4 configuration families):
#   whole     resources {gpus: 1, gpuPacking: off}: one trial per GPU at a time
#   declared  resources {gpus: 1, gpuMemory: DECLARED}: packed by declared memory
#   measured  resources {gpus: 1} (gpuPacking: measure): packed by each family's measured peak
# bench/gpu/summarize.mjs OUT turns these into bench/results/gpu-packing-real.json.
set -u
OUT=${OUT:-/tmp/trellis-gpu-check}
TRIALS=${TRIALS:-12}
DECLARED=${DECLARED:-3Gi}
CPUS=${CPUS:-16}
PROBE=${PROBE:-bench/gpu/probe.py}
STEPS=${STEPS:-500}
VARIANTS=${VARIANTS:-whole declared measured}
mkdir -p "$OUT"
T=node
CLI="$T dist/cli/main.js"
ST=$(mktemp -d)
PORT=${PORT:-50151}
export TRELLIS_COORDINATOR=127.0.0.1:$PORT
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; }
trap cleanup EXIT

wait_for() { # wait_for SECONDS CMD...: polls CMD every 0.2 s until it succeeds
  local deadline=$(($(date +%s) + $1)); shift
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -ge "$deadline" ] && { echo "timed out waiting for: $*"; return 1; }
    sleep 0.2
  done
}

{
  echo "== date"; date -u
  echo "== nvidia-smi -L"; nvidia-smi -L
  echo "== nvidia-smi"; nvidia-smi --query-gpu=index,name,memory.total,memory.used,driver_version --format=csv
  echo "== nvidia-smi version"; nvidia-smi | head -4
  echo "== python/torch"; python3 -c 'import torch,sys; print(sys.version.split()[0], torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")'
  echo "== node"; $T --version; nproc
  echo "== trellis worker --list-gpus"; $CLI worker --list-gpus
} > "$OUT/info.txt" 2>&1
cat "$OUT/info.txt"

$CLI coordinator --listen "$TRELLIS_COORDINATOR" --dir "$ST/coordinator" > "$OUT/coordinator.log" 2>&1 &
pids+=($!)
wait_for 30 $CLI list || exit 1
$CLI worker --cpus "$CPUS" --allow-command --metrics-listen 127.0.0.1:9465 --id gpu-node-0 > "$OUT/worker.log" 2>&1 &
pids+=($!)
wait_for 30 grep -q 'worker connected' "$OUT/coordinator.log" || exit 1
grep 'worker connected' "$OUT/coordinator.log"
grep -m1 'worker started' "$OUT/worker.log"

node -e "fetch(process.argv[1]).then((r) => r.text()).then((t) => process.stdout.write(t))" http://127.0.0.1:9465/metrics > "$OUT/metrics.txt" 2>&1
grep -E '^trellis_worker_gpu' "$OUT/metrics.txt"

nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv,noheader,nounits -lms 250 > "$OUT/smi.csv" 2>&1 &
pids+=($!)

resources() {
  case "$1" in
    whole) echo "{cpus: 1, gpus: 1, gpuPacking: 'off'}" ;;
    declared) echo "{cpus: 1, gpus: 1, gpuMemory: '$DECLARED'}" ;;
    measured) echo "{cpus: 1, gpus: 1, gpuFamily: [width, batch_size]}" ;;
  esac
}
echo '[' > "$OUT/runs.json"
first=1
for v in $VARIANTS; do
  spec="$ST/$v.yaml"
  cat > "$spec" <<YAML
apiVersion: trellis/v1
kind: Sweep
name: gpu-packing-$v
trial:
  runtime: command
  command: [python3, $PROBE, --epochs, "3", --steps, "$STEPS"]
  env: { OMP_NUM_THREADS: "1" }
  epochs: 3
  objective: { metric: loss, mode: min }
resources: $(resources "$v")
search:
  algorithm: grid
  space:
    width: { choice: [1024, 2048] }
    batch_size: { choice: [256, 512] }
    lr: { choice: [0.001, 0.0003, 0.0001] }
budget: { trials: $TRIALS, concurrency: $CPUS, maxAttempts: 2 }
YAML
  start=$(date +%s.%N)
  $CLI submit "$spec" --wait --json > "$ST/$v.submit.json" 2> "$ST/$v.submit.err"
  rc=$?
  end=$(date +%s.%N)
  id=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d.get("id") or d.get("experiment",{}).get("id",""))' "$ST/$v.submit.json" 2>/dev/null)
  $CLI trials "$id" --json > "$ST/$v.trials.json" 2>> "$ST/$v.submit.err"
  echo "variant $v: rc=$rc id=$id wall=$(python3 -c "print(round($end-$start,2))") s"
  tail -3 "$ST/$v.submit.err"
  [ $first = 1 ] || echo ',' >> "$OUT/runs.json"
  first=0
  python3 - "$v" "$id" "$start" "$end" "$rc" "$ST/$v.trials.json" "$ST/$v.submit.json" >> "$OUT/runs.json" <<'PY'
import json, sys
v, id_, start, end, rc, trials, submit = sys.argv[1:]
def load(p):
    try: return json.load(open(p))
    except Exception as e: return {"unreadable": str(e)}
print(json.dumps({"variant": v, "id": id_, "start": float(start), "end": float(end), "rc": int(rc),
                  "submit": load(submit), "trials": load(trials)}))
PY
done
echo ']' >> "$OUT/runs.json"
node -e "fetch(process.argv[1]).then((r) => r.text()).then((t) => process.stdout.write(t))" http://127.0.0.1:9465/metrics > "$OUT/metrics-end.txt" 2>&1
