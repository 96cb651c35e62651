#!/usr/bin/env bash
# Server abuse on loopback: aa-infer --serve (aa-cnn-s, random weights: what matters here is that every
# valid upload is decoded, classified and answered) under build/bench/http_abuse, then SIGTERM.
#
#   scripts/abuse.sh [--quick | --long]      quick (default, ~1 min, run by .ci/run) or long (~5 min)
#
# Two runs against one server:
#   1. mixed: the abuse kinds of bench/http_abuse.c with slow clients and connection floods, while a valid
#      stream is measured; fails on any valid upload not answered 200, any 500, the server dying, its RSS
#      ending more than ABUSE_RSS_MB (16) above its value when the abuse began (memory kept), or ever more
#      than ABUSE_PEAK_MB (128) above it: three abusers each growing a chunked upload to the 20 MB limit hold
#      up to 3 x 36 MB at once (a 16 MB buffer copied into a 20 MB one), well under the 160 MB upload budget
#   2. ogg: malformed Ogg Vorbis uploads only; fails when RSS ends more than OGG_RSS_MB (4) higher: 3000
#      uploads leaking libsndfile's 5.8 KB each would add 17 MB
# Then: the server must not have written a byte to storage (/proc/PID/io write_bytes), its working and
# temporary folders must still be empty, and SIGTERM must stop it with exit status 0 within 2 s.
# Extra arguments for the server: AA_ABUSE_SERVER_ARGS (e.g. "--workers 1").
set -uo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
B=${AA_BUILD:-build}
mode=${1:---quick}
case "$mode" in
  --quick) secs=40; reqs=10000; rate=400; slow=40;  flood=150; ogg=3000 ;;
  --long)  secs=300; reqs=80000; rate=300; slow=100; flood=300; ogg=20000 ;;
  *) echo "usage: scripts/abuse.sh [--quick | --long]" >&2; exit 2 ;;
esac
rss_bound=${ABUSE_RSS_MB:-16}
peak_bound=${ABUSE_PEAK_MB:-128}
ogg_bound=${OGG_RSS_MB:-4}

make -s -j2 "$B/aa-infer" "$B/bench/http_abuse" "$B/bench/infer_setup" >/dev/null || exit 1
work=$(mktemp -d)
server=
trap '[[ -n "$server" ]] && kill -9 "$server" 2>/dev/null; rm -rf "$work"' EXIT
"$B/bench/infer_setup" "$work" 1 >/dev/null || exit 1
mkdir -p "$work/cwd" "$work/tmp"
port=$(( 20000 + RANDOM % 20000 ))
# the server runs in an empty folder with an empty TMPDIR, so that a file it wrote would show
# Its output goes through pipes (to cat, which writes the files), so that write_bytes counts only what the
# server itself puts on storage; libmpg123 prints notes on stderr about random bytes it takes for MP3.
(cd "$work/cwd" && TMPDIR="$work/tmp" exec "$top/$B/aa-infer" -m "$work/model.aam" --serve --port "$port" \
   ${AA_ABUSE_SERVER_ARGS:-} > >(cat >"$work/server.out") 2> >(cat >"$work/server.err")) &
server=$!
for _ in $(seq 100); do grep -q serving "$work/server.out" 2>/dev/null && break; sleep 0.1; done
grep -q serving "$work/server.out" || { echo "abuse: the server did not start" >&2; cat "$work/server.err" >&2; exit 1; }
written0=$(awk '/^write_bytes:/ {print $2}' "/proc/$server/io")
echo "server: aa-infer --serve, aa-cnn-s, pid $server, $(nproc) cores; $(head -1 "$work/server.out")"

status=0
echo "== mixed abuse ($mode: up to $reqs abusive requests or $secs s)"
"$B/bench/http_abuse" --port "$port" --pid "$server" --seconds "$secs" --requests "$reqs" --rate "$rate" --slow "$slow" \
  --flood "$flood" --max-rss-growth-mb "$rss_bound" --max-rss-peak-mb "$peak_bound" || status=1
echo "== malformed Ogg Vorbis uploads only (up to $ogg)"
"$B/bench/http_abuse" --port "$port" --pid "$server" --seconds "$secs" --requests "$ogg" --only ogg \
  --abusers 2 --max-rss-growth-mb "$ogg_bound" || status=1

written=$(awk '/^write_bytes:/ {print $2}' "/proc/$server/io" 2>/dev/null)
if [[ -n "$written" ]]; then written=$(( written - written0 )); fi
if [[ -z "$written" ]]; then
  echo "abuse: FAIL: the server is gone before SIGTERM" >&2; status=1
else
  echo "bytes the server wrote to storage: $written"
  [[ "$written" == 0 ]] || { echo "abuse: FAIL: the server wrote $written bytes to storage" >&2; status=1; }
fi
echo "lines the server printed on stderr: $(wc -l <"$work/server.err") ($(sort "$work/server.err" | uniq -c | sort -rn | head -2 | tr -s ' ' | tr '\n' ';'))"
left=$(find "$work/cwd" "$work/tmp" -mindepth 1 | head -5)
[[ -z "$left" ]] || { echo "abuse: FAIL: the server left files: $left" >&2; status=1; }

t0=$(date +%s.%N)
kill -TERM "$server"
rc=
for _ in $(seq 40); do kill -0 "$server" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$server" 2>/dev/null; then
  echo "abuse: FAIL: still running 2 s after SIGTERM" >&2; status=1
else
  wait "$server"; rc=$?
  server=
  t=$(echo "$(date +%s.%N) - $t0" | bc)
  printf 'SIGTERM -> exit status %s in %.2f s\n' "$rc" "$t"
  [[ "$rc" == 0 ]] || { echo "abuse: FAIL: exit status $rc after SIGTERM" >&2; cat "$work/server.err" >&2; status=1; }
fi
[[ $status == 0 ]] && echo "abuse: passed" || echo "abuse: FAILED" >&2
exit $status
