#!/usr/bin/env bash
# The default model at four quantizations (issue 27), in resumable pieces on a shared machine:
# the shipped Q4_K_M plus Q4_0, Q3_K_M and Q2_K made from it through F16 by `eval --quantize`.
# Passes of growing --limit (every file gets the same items before any file gets more); each
# piece holds the shared heavy lock, runs at most PIECE_S seconds and is then stopped with
# Ctrl-C (SIGINT); the next piece resumes. Address space is capped at 14 GiB. Nothing runs
# after STOP_AT (UTC, HH:MM). THREADS: llama.cpp threads (2; 1 on a machine busy with others).
# CONFIGS: the configs to score (add `prompt` for the ceiling, what naming the country gives).
#
#   STOP_AT=09:20 bash benchmarks/quantization_run.sh runs/qwen-quantizations
set -u
out=${1:-runs/qwen-quantizations}
limits=${LIMITS:-"3 10 20 30"}
configs=${CONFIGS:-none,en-mid,loc-deep,surgical}
piece_s=${PIECE_S:-600}
stop_at=$(date -u -d "${STOP_AT:-23:59}" +%s)
lock=${LOCK:-/tmp/surgsteer-heavy.lock}
mkdir -p "$out"
for limit in $limits; do
  while true; do
    left=$((stop_at - $(date -u +%s)))
    if [ "$left" -le 30 ]; then
      echo "stopped at $(date -u +%H:%M) before finishing --limit $limit" | tee -a "$out/pieces.log"
      exit 0
    fi
    echo "piece: --limit $limit, $(date -u +%H:%M:%S)" >>"$out/pieces.log"
    # the piece's time is counted once the lock is held, and never runs past STOP_AT
    flock "$lock" bash -c 'left=$(($1 - $(date -u +%s))); [ "$left" -gt 30 ] || exit 130
      exec timeout -s INT "$((left < $2 ? left : $2))" "${@:3}"' piece "$stop_at" "$piece_s" \
      prlimit --as=$((14 * 2 ** 30)) \
      surgsteer eval --model qwen2.5-coder-1.5b --quantize Q4_0,Q3_K_M,Q2_K \
      --config "$configs" --lang ko,zh,es,id,el --split test \
      --limit "$limit" --threads "${THREADS:-2}" --out "$out" >>"$out/eval-output-$limit.txt" 2>&1
    status=$?
    echo "  exit $status at $(date -u +%H:%M:%S)" >>"$out/pieces.log"
    [ "$status" -eq 0 ] && break
    [ "$status" -ne 124 ] && [ "$status" -ne 130 ] && exit "$status"
  done
done
