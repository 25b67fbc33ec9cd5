#!/usr/bin/env bash
# Rebuilds every shipped model with the public CLI (one region at a time, THREADS threads,
# default 2) and logs wall time per region. Run from the repository root. Regions with
# bundled weather (all but GB) get the weather ensemble (lightgbm + lightgbm_weather + tst)
# under the day-ahead rule CENAS_FORECASTER_WEATHER_WINDOW_HOURS (default 24).
set -euo pipefail
CENAS=${CENAS:-cenas}
THREADS=${THREADS:-2}
for region in US-CAL-CISO US-MIDA-PJM DE US-TEX-ERCO GB; do
  start=$(date +%s)
  $CENAS forecast train --region "$region" --model ensemble --seed 0 --threads "$THREADS" --out "forecaster_svc/shipped/$region"
  echo "{\"region\": \"$region\", \"wall_seconds\": $(( $(date +%s) - start ))}"
done
