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
#   3. cases, one per defence of docs/RELIABILITY.md's "Round two": FLAC files of silence with no length
#      in their header (650 s of 192 kHz mono, 60 s of 8 channels) are refused 422 at the server's sample
#      budget while /healthz is answered at once; two Content-Length headers get 400; a foreign Host 421
#      (/healthz still 200); a POST from a foreign Origin and a CORS preflight 403
# Then: the server must not have written a byte to storage (/proc/PID/io write_bytes), its working and
# temporary folders must still be empty, and SIGTERM must stop it with exit status 0 within 2 s. Last, a
# second server with stdout closed and --host 0.0.0.0 must warn once on stderr, serve, and stop with exit
# status 0 on SIGHUP.
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
# http_abuse names the server "Host: x" in every request, valid ones included: allowed, so that its requests
# reach the limits they are meant to test rather than the Host check (case 3 tests that one).
(cd "$work/cwd" && TMPDIR="$work/tmp" exec "$top/$B/aa-infer" -m "$work/model.aam" --serve --port "$port" \
   --allow-host x ${AA_ABUSE_SERVER_ARGS:-} > >(cat >"$work/server.out") 2> >(cat >"$work/server.err")) &
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

echo "== cases"
# Raw HTTP on loopback with bash alone: the request on stdin, the whole answer on stdout (the server closes:
# every request here says Connection: close or is refused with a close).
http_raw() {
  local fd
  exec {fd}<>"/dev/tcp/127.0.0.1/$1" || return 1
  cat >&"$fd"
  timeout 10 cat <&"$fd"
  exec {fd}>&-
}
# req METHOD PATH HOST [HEADER...]: a request's head, with Connection: close
req() {
  printf '%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n' "$1" "$2" "$3"
  shift 3
  local h
  for h in "$@"; do printf '%s\r\n' "$h"; done
  printf '\r\n'
}
status_of() { head -c 12 "$1" | cut -d' ' -f2; }
now() { date +%s.%N; }
check() { # NAME, then a condition's exit status: one line each
  if [[ $2 == 0 ]]; then echo "case $1: ok"; else echo "abuse: FAIL: case $1" >&2; status=1; fi
}
# flac_silence FILE SECONDS RATE CHANNELS: 16-bit FLAC of silence with no length in its header, as a
# stream encoder leaves it; frames of 32768 samples of CONSTANT 0 subframes, CRCs computed here.
flac_silence() {
  local file=$1 secs=$2 rate=$3 ch=$4 bs=32768 i b c f x c8 c16 out sub=''
  local -a crc8 crc16 hex hdr
  for ((i = 0; i < 256; i++)); do
    printf -v 'hex[i]' '\\x%02x' "$i"
    c=$i
    for ((b = 0; b < 8; b++)); do (( c = c & 0x80 ? (c << 1 ^ 0x07) & 0xff : c << 1 & 0xff )); done
    crc8[i]=$c
    c=$((i << 8))
    for ((b = 0; b < 8; b++)); do (( c = c & 0x8000 ? (c << 1 ^ 0x8005) & 0xffff : c << 1 & 0xffff )); done
    crc16[i]=$c
  done
  # fLaC; STREAMINFO, the last block (34 bytes): block sizes 32768, frame sizes unknown, rate, channels,
  # 16 bits, total samples 0 (unknown), no MD5
  local packed=$(( rate << 44 | (ch - 1) << 41 | 15 << 36 ))
  out='fLaC\x80\x00\x00\x22\x80\x00\x80\x00\x00\x00\x00\x00\x00\x00'
  for ((i = 56; i >= 0; i -= 8)); do out+=${hex[packed >> i & 0xff]}; done
  for ((i = 0; i < 16; i++)); do out+='\x00'; done
  printf "$out" >"$file"
  out=''
  for ((i = 0; i < ch; i++)); do sub+=' 0 0 0'; done
  for ((f = 0; f < (secs * rate + bs - 1) / bs; f++)); do
    # sync, fixed blocks, block size code 15 (32768), rate from STREAMINFO, channels, 16 bits; frame number
    # in UTF-8's coding; CRC-8; a CONSTANT subframe of 0 per channel; CRC-16
    hdr=(0xff 0xf8 0xf0 $(( (ch - 1) << 4 | 0x08 )))
    if ((f < 0x80)); then hdr+=($f)
    elif ((f < 0x800)); then hdr+=($(( 0xc0 | f >> 6 )) $(( 0x80 | (f & 0x3f) )))
    else hdr+=($(( 0xe0 | f >> 12 )) $(( 0x80 | (f >> 6 & 0x3f) )) $(( 0x80 | (f & 0x3f) ))); fi
    c8=0; for x in "${hdr[@]}"; do c8=${crc8[c8 ^ x]}; done
    hdr+=($c8 $sub)
    c16=0; for x in "${hdr[@]}"; do c16=$(( (c16 << 8 & 0xffff) ^ crc16[(c16 >> 8 ^ x) & 0xff] )); done
    hdr+=($(( c16 >> 8 )) $(( c16 & 0xff )))
    for x in "${hdr[@]}"; do out+=${hex[x]}; done
    if (( ${#out} > 60000 )); then printf "$out" >>"$file"; out=''; fi
  done
  printf "$out" >>"$file"
}
c="$work/case"
mkdir -p "$c"
flac_silence "$c/mono.flac" 650 192000 1
flac_silence "$c/eight.flac" 60 192000 8
# 1. decompression bombs: six at once on the workers, /healthz meanwhile
for i in 1 2 3 4 5 6; do
  f="$c/mono.flac"; (( i % 2 )) || f="$c/eight.flac"
  { req POST /api/classify localhost "Content-Length: $(stat -c %s "$f")"; cat "$f"; } |
    http_raw "$port" >"$c/bomb$i" &
done
sleep 0.2
t0=$(now)
req GET /healthz localhost | http_raw "$port" >"$c/health"
t_health=$(echo "$(now) - $t0" | bc)
wait $(jobs -p | grep -vx "$server")
bombs=0
for i in 1 2 3 4 5 6; do
  [[ $(status_of "$c/bomb$i") == 422 ]] && grep -q "the most this server decodes" "$c/bomb$i" && bombs=$((bombs + 1))
done
printf 'six FLAC bombs (%s and %s bytes): %d refused 422 at the sample budget; /healthz meanwhile: %s in %.3f s\n' \
  "$(stat -c %s "$c/mono.flac")" "$(stat -c %s "$c/eight.flac")" "$bombs" "$(status_of "$c/health")" "$t_health"
[[ $bombs == 6 && $(status_of "$c/health") == 200 && $(echo "$t_health < 0.5" | bc) == 1 ]]; check bombs $?
# 2. request smuggling: the length stated twice
{ req POST /api/classify localhost "Content-Length: 4" "Content-Length: 50"
  printf 'RIFFGET /api/model HTTP/1.1\r\nHost: localhost\r\n\r\n'; } | http_raw "$port" >"$c/smuggle"
[[ $(status_of "$c/smuggle") == 400 && $(grep -c '^HTTP/1' "$c/smuggle") == 1 ]]
check "two Content-Length: 400, one answer" $?
# 3. DNS rebinding: a foreign Host
req GET /api/model "evil.example:$port" | http_raw "$port" >"$c/host"
req GET /healthz "evil.example:$port" | http_raw "$port" >"$c/hosthz"
[[ $(status_of "$c/host") == 421 && $(status_of "$c/hosthz") == 200 ]]; check "foreign Host: 421 (/healthz 200)" $?
# 4. cross-origin: a form posted from elsewhere, a preflight
{ req POST /api/classify "localhost:$port" "Origin: http://evil.example" "Content-Length: 4"; printf RIFF; } \
  | http_raw "$port" >"$c/origin"
req OPTIONS /api/classify "localhost:$port" "Origin: http://evil.example" "Access-Control-Request-Method: POST" \
  | http_raw "$port" >"$c/preflight"
[[ $(status_of "$c/origin") == 403 && $(status_of "$c/preflight") == 403 ]] &&
  ! grep -qi '^access-control-allow-origin' "$c/preflight"
check "foreign Origin: POST and preflight 403" $?

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

# 5. a second server: stdout closed (the listening socket took descriptor 1 and the banner killed it with
# SIGPIPE), a wide address (one warning line), SIGHUP (killed it: exit 129)
port2=$(( port == 65535 ? port - 1 : port + 1 ))
(cd "$work/cwd" && exec "$top/$B/aa-infer" -m "$work/model.aam" --serve --port "$port2" --host 0.0.0.0 \
   >&- 2> >(cat >"$work/server2.err")) &
server=$!
for _ in $(seq 100); do
  req GET /healthz localhost | http_raw "$port2" >"$c/h2" 2>/dev/null
  [[ $(status_of "$c/h2") == 200 ]] && break
  sleep 0.1
done
up=$(status_of "$c/h2")
kill -HUP "$server"
for _ in $(seq 40); do kill -0 "$server" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$server" 2>/dev/null; then rc=running; else wait "$server"; rc=$?; server=; fi
sleep 0.1
echo "stdout closed, --host 0.0.0.0: /healthz $up; stderr: $(head -c 100 "$work/server2.err")...; SIGHUP -> $rc"
[[ $up == 200 && $rc == 0 && $(wc -l <"$work/server2.err") == 1 ]] &&
  grep -q "warning: listening on 0.0.0.0" "$work/server2.err"
check "closed stdout, wide bind, SIGHUP" $?

[[ $status == 0 ]] && echo "abuse: passed" || echo "abuse: FAILED" >&2
exit $status
