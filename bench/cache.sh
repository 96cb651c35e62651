#!/usr/bin/env bash
# Feature cache build (decode every file once, write the decoded signals, log-mel of each kept window) on one
# thread and on every core, each in its own process so the peak resident size is its own; and the reuse
# path (read + check of the written cache, log-mels of its windows from the signals) beside it.
#
#   BENCH_DATA=DIR   labelled folders DIR/<class>/... (default: ../shared/data/respiratory when present, else
#                    a generated demo corpus of 40 clips per class)
set -euo pipefail
bin=${AA_BUILD:-build}/bench/cache
[[ -x "$bin" ]] || { echo "cache.sh: $bin not built (make bench-bins)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

data=${BENCH_DATA:-}
if [[ -z "$data" && -d ../shared/data/respiratory ]]; then
  data=../shared/data/respiratory
elif [[ -z "$data" ]]; then
  data=$tmp/demo
  "$bin" --make-corpus "$data" 40
fi
jget() { grep -o "\"$1\":[0-9.]*" <<<"$2" | head -n1 | cut -d: -f2; }

echo "-- cache: $data (default hop 2 s, at most 12 windows per file)"
one=$("$bin" --threads 1 "$data" "$tmp/c1.aacache")
all=$("$bin" --threads 0 "$data" "$tmp/cn.aacache")
sed -n '1,/^build/p' <<<"$one" | sed 's/^/   /'
j1=$(tail -n1 <<<"$one") jn=$(tail -n1 <<<"$all")
n=$(jget threads "$jn")
b1=$(jget build_s "$j1") bn=$(jget build_s "$jn")
echo "   $n threads: build + write $bn s, peak RSS $(jget peak_rss_mb "$jn") MB -> speed-up $(awk -v a="$b1" -v b="$bn" 'BEGIN{printf "%.2f", a/b}')x"
echo "   reuse (read + check + log-mels): $(jget load_s "$jn") s for $(jget cache_mb "$jn") MB -> $(awk -v a="$bn" -v b="$(jget load_s "$jn")" 'BEGIN{printf "%.0f", a/b}')x faster than building"
cmp -s "$tmp/c1.aacache" "$tmp/cn.aacache" && echo "   1-thread and $n-thread cache files identical" || { echo "   cache files differ between thread counts" >&2; exit 1; }
printf '{"bench":"cache","data":"%s","build_s_1t":%s,"build_s_nt":%s,"threads":%s,"speedup":%s,"peak_rss_mb_1t":%s,"peak_rss_mb_nt":%s,"load_s":%s,"one":%s}\n' \
  "$data" "$b1" "$bn" "$n" "$(awk -v a="$b1" -v b="$bn" 'BEGIN{printf "%.3f", a/b}')" "$(jget peak_rss_mb "$j1")" \
  "$(jget peak_rss_mb "$jn")" "$(jget load_s "$jn")" "$j1"
