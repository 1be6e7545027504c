#!/usr/bin/env bash
# Whole processes timed side by side in one run, pair by pair, with ratios: `incidents list -q`
# against the `jq | fzf --filter` pipeline over the same file, and against `fzf --filter` alone on
# the same victims; then load throughput and peak memory of `incidents validate`.
#
#   benches/compare.sh                 # 100,000 generated records
#   COUNT=1000000 benches/compare.sh   # a million (about 1.7 GB in a temporary directory)
#
# Needs hyperfine, jq, fzf and GNU time; installs nothing, and says what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

COUNT=${COUNT:-100000}
QUERY=${QUERY:-summit bank}
RUNS=${RUNS:-5}
SEED=${SEED:-7}

missing=()
for tool in hyperfine jq fzf; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
[[ -x /usr/bin/time ]] || missing+=("time")
if ((${#missing[@]})); then
  echo "compare.sh needs: ${missing[*]} (Debian: apt-get install ${missing[*]})" >&2
  exit 2
fi

cargo build --release --quiet --bin incidents --example gen
bin=target/release/incidents
dir=$(mktemp -d "${TMPDIR:-/tmp}/incidents-compare.XXXXXX")
trap 'rm -rf "$dir"' EXIT

echo "generating $COUNT records (seed $SEED)..."
target/release/examples/gen --count "$COUNT" --seed "$SEED" >"$dir/data.json"
jq -r '.[].victim' "$dir/data.json" >"$dir/victims.txt"
bytes=$(stat -c %s "$dir/data.json")
echo "file: $((bytes / 1000000)) MB; query: \"$QUERY\"; $("$bin" --version); $(fzf --version | cut -d' ' -f1 | sed 's/^/fzf /'); $(jq --version); machine: $(nproc) cores"
echo

# hyperfine's mean of a named command, in seconds.
mean() { jq -r --arg n "$2" '.results[] | select(.command == $n) | .mean' "$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }

q=$(printf %q "$QUERY")
hyperfine --style basic --warmup 1 --runs "$RUNS" --export-json "$dir/pipeline.json" \
  -n "incidents list -q" "$bin list -q $q $dir/data.json --json >/dev/null" \
  -n "jq | fzf --filter" "jq -r '.[].victim' $dir/data.json | fzf --filter $q >/dev/null"
hyperfine --style basic --warmup 1 --runs "$RUNS" --export-json "$dir/fzf.json" \
  -n "incidents list -q" "$bin list -q $q $dir/data.json --json >/dev/null" \
  -n "fzf --filter (victims only)" "fzf --filter $q <$dir/victims.txt >/dev/null"
hyperfine --style basic --warmup 1 --runs "$RUNS" --export-json "$dir/load.json" \
  -n "incidents validate" "$bin validate $dir/data.json >/dev/null"

ours=$(mean "$dir/pipeline.json" "incidents list -q")
pipeline=$(mean "$dir/pipeline.json" "jq | fzf --filter")
ours2=$(mean "$dir/fzf.json" "incidents list -q")
fzf_alone=$(mean "$dir/fzf.json" "fzf --filter (victims only)")
load=$(mean "$dir/load.json" "incidents validate")
rss_kb=$(/usr/bin/time -f %M "$bin" validate "$dir/data.json" 2>&1 >/dev/null | tail -1)

echo
echo "== ratios ($COUNT records, $((bytes / 1000000)) MB) =="
printf 'incidents list -q / (jq | fzf --filter)       %s  (%.3f s vs %.3f s)\n' "$(ratio "$ours" "$pipeline")" "$ours" "$pipeline"
printf 'incidents list -q / fzf --filter on victims   %s  (%.3f s vs %.3f s)\n' "$(ratio "$ours2" "$fzf_alone")" "$ours2" "$fzf_alone"
printf 'load (validate): %.0f MB/s; peak RSS %d MB = %s x the file\n' \
  "$(awk -v b="$bytes" -v t="$load" 'BEGIN { print b / t / 1e6 }')" "$((rss_kb / 1024))" \
  "$(awk -v r="$rss_kb" -v b="$bytes" 'BEGIN { printf "%.2f", r * 1024 / b }')"

echo
echo "== keystrokes in a pseudo-terminal (both programs on the same victims) =="
cargo bench --quiet --bench keys -- "$dir/data.json" "$dir/victims.txt" "${WORD:-summit}" "${KEY_RUNS:-5}"
