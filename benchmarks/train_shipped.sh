#!/usr/bin/env bash
# Rebuilds every shipped model with the public CLI (one region at a time, 2 threads) and
# logs wall time per region. Run from the repository root.
set -euo pipefail
CENAS=${CENAS:-cenas}
for region in US-CAL-CISO US-MIDA-PJM DE US-TEX-ERCO GB; do
  start=$(date +%s)
  $CENAS forecast train --region "$region" --model ensemble --seed 0 --threads 2 --out "forecaster_svc/shipped/$region"
  echo "{\"region\": \"$region\", \"wall_seconds\": $(( $(date +%s) - start ))}"
done
