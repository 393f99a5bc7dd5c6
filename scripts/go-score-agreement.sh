#!/usr/bin/env bash
# Scoring agreement between Cortex's Tromp–Taylor count and GnuGo's Chinese count: random
# eye-preserving games played to the end (two passes), each scored by Cortex and by
# `gnugo --mode gtp --chinese-rules` (loadsgf + final_score), at 9×9, 13×13 and 19×19.
# Usage: scripts/go-score-agreement.sh [games at 9×9] [games at 13×13] [games at 19×19] [seed]
set -euo pipefail
cd "$(dirname "$0")/.."
games9=${1:-200}
games13=${2:-50}
games19=${3:-50}
seed=${4:-1}
PATH="$PATH:/usr/games"
command -v gnugo >/dev/null || { echo "go-score-agreement: gnugo is not installed (scripts/setup installs it)" >&2; exit 1; }
swift build -c release --product cortex >&2
for spec in "9 $games9" "13 $games13" "19 $games19"; do
    set -- $spec
    [ "$2" -gt 0 ] || continue
    printf "%s×%s, %s games: " "$1" "$1" "$2"
    .build/release/cortex match --black random --white random --games "$2" --size "$1" --seed "$seed" \
        --referee "gnugo --mode gtp --chinese-rules" 2>/dev/null | grep -E "referee agreement|^  game"
done
