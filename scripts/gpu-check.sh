#!/usr/bin/env bash
# The GPU machine's checks in one call (../shared/docs/DEVICE.md): build against the machine's PyTorch
# LibTorch with CUDA, check that a CUDA-trained run scores the same on the GPU and on the CPU, then
# the benchmarks: mednet against PyTorch for every study model, the full Experiment 1 (100 epochs with
# validation each), what each speed lever gives, and three trainings sharing the machine.
# The logs and JSON files are packed into $OUT/gpu-check.tar.gz (default OUT: /tmp/gpu-check), beside
# summary.txt, which holds what each step printed last.
#
#   MEDMNIST_ROOT=DIR scripts/gpu-check.sh [STEP...]   (steps: build exp1 compare levers sharing parity,
#                                                       precision: bf16 against PyTorch's bf16, and
#                                                       new-levers: channels-last and async-checkpoint)
set -uo pipefail
dest=${OUT:-/tmp/gpu-check}
out=$(mktemp -d /tmp/gpu-check-work.XXXXXX)
mkdir -p "$dest"
build=build-cuda
steps=${*:-build exp1 compare levers sharing parity}
: "${MEDMNIST_ROOT:?set MEDMNIST_ROOT to the folder holding the MedMNIST .npz files}"
export MEDMNIST_ROOT PYTHONUNBUFFERED=1
pack() {
  tar -czf "$dest/gpu-check.tar.gz" -C "$out" . && cp "$out/summary.txt" "$dest/"
}
log() { echo "[$(date +%T)] $*" | tee -a "$out/summary.txt"; }
step() {  # step NAME LIMIT_S COMMAND...: runs it with a limit, its output in $out/NAME.log
  local name=$1 limit=$2
  shift 2
  log "$name: $*"
  local t0=$SECONDS
  timeout "$limit" "$@" >"$out/$name.log" 2>&1
  local rc=$?
  log "$name: exit $rc after $((SECONDS - t0)) s"
  tail -n 20 "$out/$name.log" | tee -a "$out/summary.txt"
  pack  # what is done so far comes back even if the call is cut off later
  return $rc
}
nvidia-smi -L | tee -a "$out/summary.txt"
for s in $steps; do
  case $s in
    build)
      prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
      step configure 120 cmake -S . -B $build -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" \
        -DMEDNET_BUILD_TESTS=OFF -DMEDNET_BUILD_BENCH=ON -DMEDNET_WITH_GLOO=OFF || break
      step build 400 cmake --build $build -j "$(nproc)" --target mednet bench_compare || break ;;
    parity)
      # A short CUDA training, then its best checkpoint scored on the GPU and on the CPU.
      rm -rf /tmp/parity
      step parity_train 120 $build/bin/mednet train --config experiments/exp1_cnn3d_adrenal.json --device cuda \
        --epochs 5 --patience 0 --out /tmp/parity
      step parity_eval_cuda 60 $build/bin/mednet eval --run /tmp/parity --device cuda
      step parity_eval_cpu 120 $build/bin/mednet eval --run /tmp/parity --device cpu --threads 8 ;;
    compare) step compare 300 bench/compare.sh $build --device cuda --threads 2 --epochs 4 --json "$out/compare_cuda.json" ;;
    exp1) step exp1 240 bench/compare.sh $build --device cuda --threads 2 --epochs 100 --arms cnn3d-adrenal \
      --json "$out/exp1_cuda.json" ;;
    levers) step levers 240 bench/gpu_levers.sh $build cnn3d-adrenal 6
      step levers_resnet 240 bench/gpu_levers.sh $build resnet18-retina 4 ;;
    new-levers)  # only the levers added since the last measurement, on a 3D and two 2D models
      for arm in cnn3d-adrenal cnn2d-aug-retina resnet18-retina; do
        LEVERS="channels-last async-checkpoint" PRECISIONS="" step "levers_$arm" 120 \
          bench/gpu_levers.sh $build $arm 6
      done ;;
    sharing) step sharing 240 bench/gpu_sharing.sh $build 15 ;;
    precision) step compare_bf16 240 bench/compare.sh $build --device cuda --threads 2 --epochs 4 --precision bf16 \
      --arms cnn3d-adrenal,cnn2d-aug-retina,resnet18-retina --json "$out/compare_cuda_bf16.json" ;;
    *) log "unknown step $s" ;;
  esac
done
log "done"
pack
