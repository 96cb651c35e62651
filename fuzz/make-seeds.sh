#!/usr/bin/env bash
# Seed corpora for the fuzz targets, made at run time into OUT (default build/fuzz/seeds), one folder per
# target:
#   audio/ model/ settings/   by the seedgen program (valid recordings, model file, checkpoint, settings)
#   multipart/ serve/ manifest/ events/   text seeds written here
#
#   fuzz/make-seeds.sh [OUT]      (needs build/fuzz/seedgen: make fuzz-bins)
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZ_BUILD=${FUZZ_BUILD:-build/fuzz}
final=${1:-$FUZZ_BUILD/seeds}
# made beside and renamed into place, so a fuzzer already reading the old seeds never sees half a folder
out=$final.tmp.$$
trap 'rm -rf "$out"' EXIT
rm -rf "$out"
mkdir -p "$out"
"$FUZZ_BUILD/seedgen" "$out"

# ---- multipart: the Content-Type value, a newline, the body -------------------------------------------
mp=$out/multipart
mkdir -p "$mp"
wav=$out/audio/two_frames.wav
{ printf 'multipart/form-data; boundary=XyZ\n'
  printf -- '--XyZ\r\nContent-Disposition: form-data; name="note"\r\n\r\nhello\r\n'
  printf -- '--XyZ\r\nContent-Disposition: form-data; name="file"; filename="../clip one.wav"\r\n'
  printf 'Content-Type: audio/wav\r\n\r\n'
  cat "$wav"
  printf '\r\n--XyZ--\r\n'; } > "$mp/form_file"
{ printf 'multipart/form-data; boundary="a b;c"\n'
  printf -- '--a b;c\r\nContent-Disposition: form-data; name=audio\r\n\r\nRIFF....\r\n--a b;c--'; } > "$mp/quoted_named"
{ printf 'Multipart/Form-Data ;charset=utf-8; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW\n'
  printf 'preamble\r\n------WebKitFormBoundary7MA4YWxkTrZu0gW\r\n'
  printf 'Content-Disposition: form-data; name="file"; filename="C:\\\\rec\\\\x\\"y\\".wav"\r\n\r\n'
  printf 'data\r\n------WebKitFormBoundary7MA4YWxkTrZu0gW  \r\n\r\nno headers\r\n'
  printf -- '------WebKitFormBoundary7MA4YWxkTrZu0gW--\r\nepilogue'; } > "$mp/browser"
printf 'multipart/form-data\n--x\r\n\r\n\r\n--x--' > "$mp/no_boundary"
printf 'audio/wav\nRIFF' > "$mp/not_multipart"
printf 'multipart/form-data; boundary=%s\n--%s\r\n\r\nx\r\n--%s--' "$(printf 'b%.0s' {1..71})" x x > "$mp/long_boundary"

# ---- serve: flag byte (bit 0 chunked, bits 1-2 POST/GET/PUT/HEAD), path line, headers, empty line, body --
sv=$out/serve
mkdir -p "$sv"
{ printf '\0\nX-Filename: cough 1.wav\nContent-Type: audio/wav\n\n'; cat "$out/audio/pcm16_16k_mono.wav"; } > "$sv/raw_wav"
{ printf '\1/api/classify\nContent-Type: application/octet-stream\n\n'; cat "$out/audio/u8_8k_mono.wav"; } > "$sv/chunked_wav"
{ printf '\0\nContent-Type: multipart/form-data; boundary=XyZ\n\n'
  tail -c +"$(( $(head -n1 "$mp/form_file" | wc -c) + 1 ))" "$mp/form_file"; } > "$sv/form"
{ printf '\0\nContent-Type: multipart/form-data; boundary=XyZ\n\n'; printf -- '--XyZ\r\nbroken'; } > "$sv/bad_form"
{ printf '\0\nContent-Type: multipart/form-data\n\n'; } > "$sv/form_no_boundary"
{ printf '\0\n\n'; head -c 5000 /dev/zero; } > "$sv/too_large"
{ printf '\1\n\n'; head -c 9000 /dev/zero; } > "$sv/too_large_chunked"
printf '\0\n\n' > "$sv/empty"
printf '\2/\n\n' > "$sv/get_page"
printf '\2/api/model\n\n' > "$sv/get_model"
printf '\6/healthz\n\n' > "$sv/head_health"
printf '\2/api/classify\n\n' > "$sv/get_classify"
printf '\4/app.js\n\n' > "$sv/put_asset"
printf '\2/nope/%%2e%%2e/x?y=1\n\n' > "$sv/not_found"

# ---- manifest: class list line, group regex line, the manifest ---------------------------------------
mf=$out/manifest
mkdir -p "$mf"
printf '\n\npath\tgroup\tclass\ncough/p01_a.wav\tp01\tcough\ncough/p02_a.flac\tp02\tcough\n./normal_breathing/p01_c.wav\tp01\tx\n' > "$mf/plain"
printf 'normal_breathing,cough\n^(p[0-9]+)_\n\xEF\xBB\xBFclass\t Group \tPATH\r\nx\tg1\tcough/p01_b.wav\r\n\r\ny\t\tnormal_breathing/sub/p04_e.ogg\r\n' > "$mf/bom_crlf_regex"
printf 'cough\n\npath\tgroup\ncough/p01_a.wav\ta\ncough/p01_a.wav\tb\nmissing.wav\tc\nonly-one-field\n' > "$mf/dup_rows"
printf '\n(\npath\n' > "$mf/bad_regex_no_group"
printf 'a,,b\n\n' > "$mf/bad_classes"
printf '\n\n' > "$mf/empty"

# ---- events: a reference TSV for the event scorer --------------------------------------------------------
ev=$out/events
mkdir -p "$ev"
printf 'start_s\tend_s\tclass\n1.000\t1.450\tcough\n3.200\t9.100\theavy_breathing\n11.0\t16.5\tnormal_breathing\n' > "$ev/demo"
printf '\xEF\xBB\xBFfile\tnote\tLabel\tonset\toffset\r\na.wav\tx\tCough\t1\t2\r\n\r\nb.wav\t\tHeavy Breathing\t5\t7.25\r\n' > "$ev/bom_crlf"
printf 'file\tlabel\tstart_s\tend_s\na.wav\tcough\t1\t2\na.wav\tcough\t1.5\t3\nsub/dir/a.wav\tcough\t3\t4\ngone.wav\tcough\t0\t1\n' > "$ev/merge_match"
printf 'file\tlabel\tstart_s\tend_s\na.wav\tcough\t2\t1\n' > "$ev/start_after_end"
printf 'label\tstart_s\tend_s\nwheeze\t1\tnan\n' > "$ev/bad_label"
printf 'label\tstart_s\n' > "$ev/missing_column"

for d in "$out"/*/; do
  printf '%-10s %3d seeds\n' "$(basename "$d")" "$(find "$d" -type f | wc -l)"
done
rm -rf "$final.old.$$"
[[ -e $final ]] && mv "$final" "$final.old.$$"
mv "$out" "$final"
rm -rf "$final.old.$$"
