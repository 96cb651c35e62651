#!/usr/bin/env bash
# The container image, built and used for real: scripts/docker-test.sh [--base-only]
#   1. a Debian 12 base image made from Debian's own packages (debootstrap --variant=minbase bookworm,
#      then docker import), since Docker Hub's debian:12-slim may be out of reach
#   2. the Dockerfile built on it (--build-arg BASE=...), with BuildKit when the client has it
#   3. the image run with its port published on 127.0.0.1 only; generated clips of two classes POSTed to
#      /api/classify must give exactly what aa-infer --json gives on the same clip with the same model in
#      the container, and a foreign Host is still refused (421)
#   4. the server runs as a user other than root, the image holds no compiler, and docker stop ends it
#      with status 0
# Containers are always removed; images too unless AA_DOCKER_RMI=0. Cold, about 4 minutes on two shared
# cores, half of it debootstrap (mostly downloading), half the image build.
#
# --base-only    only make the base image (CI starts this early, in the background)
# Environment:
#   AA_DOCKER_SKIP=1      skip, saying so (a machine without Docker; CI otherwise fails without it)
#   AA_DOCKER_BASE=NAME   use this existing base image instead of making one; with --base-only, the
#                         name to give the one made (default audio-audit-base:bookworm)
#   AA_DOCKER_MIRROR=M    debootstrap's mirror, a host name or a URL (default deb.debian.org); the
#                         base's apt sources name it too
#   AA_DOCKER_IMAGE=NAME  the image built (default audio-audit-test:latest)
#   AA_DOCKER_RMI=0|1|all remove nothing; the image built and a base this run made (default); those
#                         and a reused AA_DOCKER_BASE
#   AA_DOCKER_CLI=PATH    the docker client (default: docker on PATH)
#   AA_DOCKER_BUILDKIT=0|1  force the classic builder or BuildKit (default: BuildKit when the client has it)
# Needs root for debootstrap and to start dockerd when none answers (docker.io's dockerd runs as root):
#   apt-get install -y docker.io debootstrap curl
# A dockerd this script starts keeps running (its log: ${TMPDIR:-/tmp}/audio-audit-dockerd.log).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "docker-test: $*"; }
die() { echo "docker-test: FAIL: $*" >&2; exit 1; }

mode=full
case "${1:-}" in
  '') ;;
  --base-only) mode=base ;;
  -h|--help) sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "docker-test: unknown argument '$1' (usage: scripts/docker-test.sh [--base-only])" >&2; exit 2 ;;
esac

if [[ ${AA_DOCKER_SKIP:-0} == 1 ]]; then
  say "skipped (AA_DOCKER_SKIP=1): the container image was neither built nor tested"
  exit 0
fi

docker=${AA_DOCKER_CLI:-docker}
base=${AA_DOCKER_BASE:-audio-audit-base:bookworm}
image=${AA_DOCKER_IMAGE:-audio-audit-test:latest}
mirror=${AA_DOCKER_MIRROR:-deb.debian.org}
[[ $mirror == *://* ]] || mirror="http://$mirror/debian"
rmi=${AA_DOCKER_RMI:-1}
[[ $rmi == 0 || $rmi == 1 || $rmi == all ]] || die "AA_DOCKER_RMI=$rmi: expected 0, 1 or all"
make_base=1
[[ $mode == full && -n ${AA_DOCKER_BASE:-} ]] && make_base=0
hint="as root: apt-get install -y docker.io debootstrap curl (or AA_DOCKER_SKIP=1 to skip this test)"

command -v "$docker" >/dev/null || die "no docker client ($docker); $hint"
if [[ $make_base == 1 ]]; then
  command -v debootstrap >/dev/null || die "debootstrap not found, needed to make the base image; $hint"
  [[ $(id -u) -eq 0 ]] \
    || die "making the base image with debootstrap needs root (or AA_DOCKER_BASE=an existing image; AA_DOCKER_SKIP=1 skips this test)"
fi
[[ $mode == base ]] || command -v curl >/dev/null || die "curl not found; $hint"

work=$(mktemp -d "${TMPDIR:-/tmp}/aa-docker.XXXXXX")
container=""
made_base=0
built=0
cleanup() {
  set +e
  [[ -n $container ]] && "$docker" rm -f "$container" >/dev/null 2>&1
  if [[ $rmi != 0 ]]; then
    [[ $built == 1 ]] && "$docker" rmi -f "$image" >/dev/null 2>&1
    # the classic builder leaves the build stage as untagged images; only those carry this label
    [[ $built == 1 ]] && "$docker" image prune -f --filter label=io.audio-audit.stage=build >/dev/null 2>&1
    if [[ $mode == full && ( $made_base == 1 || $rmi == all ) ]]; then
      "$docker" rmi "$base" >/dev/null 2>&1
    fi
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# A command whose output goes to a log; on failure the log's end, then one line saying what failed.
logged() {
  local what=$1 log=$2
  shift 2
  if ! "$@" >"$log" 2>&1; then
    tail -n 25 "$log" | sed 's/^/    /' >&2
    die "$what failed (the lines above are the end of its output)"
  fi
}

# ---- a Docker daemon ---------------------------------------------------------------------------------
if ! err=$("$docker" info 2>&1 >/dev/null); then
  command -v dockerd >/dev/null || die "no Docker daemon answers and dockerd is not installed; $hint"
  [[ $(id -u) -eq 0 ]] || die "the Docker daemon does not answer ($(tail -n 1 <<<"$err")); root starts one, a user \
needs access to its socket (the docker group); AA_DOCKER_SKIP=1 skips this test"
  dlog="${TMPDIR:-/tmp}/audio-audit-dockerd.log"
  say "starting dockerd (log: $dlog)"
  # its own session, so that it outlives this script and a CI job's process group; later runs use it
  setsid dockerd >>"$dlog" 2>&1 </dev/null &
  for _ in $(seq 60); do
    "$docker" info >/dev/null 2>&1 && break
    sleep 0.5
  done
  "$docker" info >/dev/null 2>&1 || die "dockerd did not answer within 30 s: $(tail -n 1 "$dlog")"
fi

# ---- 1. the base image -------------------------------------------------------------------------------
t0=$(date +%s)
if [[ $make_base == 1 ]]; then
  say "making base image $base: debootstrap --variant=minbase bookworm from $mirror"
  root="$work/rootfs"
  logged "debootstrap from $mirror" "$work/debootstrap.log" \
    debootstrap --variant=minbase bookworm "$root" "$mirror"
  # What an image does not need: the downloaded packages, package lists and their caches (the Dockerfile
  # runs apt-get update), the build machine's own name and resolver (Docker provides its own). And, as
  # in debian:12-slim, manuals, documentation (the copyright files stay) and translations, now and in
  # the packages installed later.
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin "$root"/var/lib/apt/lists/*
  rm -f "$root"/etc/hostname "$root"/etc/resolv.conf
  cat >"$root/etc/dpkg/dpkg.cfg.d/slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
EOF
  find "$root/usr/share/doc" ! -type d ! -name copyright -delete
  rm -rf "$root"/usr/share/{man,groff,info,lintian,linda,locale}/*
  tar --numeric-owner -C "$root" -c . | "$docker" import --change 'CMD ["bash"]' - "$base" >/dev/null \
    || die "docker import of the debootstrapped tree as $base failed"
  rm -rf "$root"
  [[ $mode == full ]] && made_base=1
  say "base image $base made in $(( $(date +%s) - t0 )) s"
else
  "$docker" image inspect "$base" >/dev/null 2>&1 \
    || die "AA_DOCKER_BASE=$base: no such image here (make it with scripts/docker-test.sh --base-only)"
  say "reusing base image $base"
fi
[[ $mode == base ]] && exit 0

# ---- 2. the image ------------------------------------------------------------------------------------
# BuildKit (parallel stages) when the client has it: the buildx plugin, or a client before Docker 23,
# which has it built in. Otherwise the classic builder, which builds the same Dockerfile.
buildkit=${AA_DOCKER_BUILDKIT:-}
if [[ -z $buildkit ]]; then
  buildkit=0
  if "$docker" buildx version >/dev/null 2>&1; then
    buildkit=1
  else
    v=$("$docker" version --format '{{.Client.Version}}' 2>/dev/null || true)
    [[ ${v%%.*} =~ ^[0-9]+$ ]] && (( ${v%%.*} < 23 )) && buildkit=1
  fi
fi
if [[ $buildkit == 1 ]]; then
  builder=BuildKit
  build=(env DOCKER_BUILDKIT=1 "$docker" build --progress=plain)
else
  builder="the classic builder"
  build=(env DOCKER_BUILDKIT=0 "$docker" build)
fi
t1=$(date +%s)
say "building $image FROM $base with $builder"
built=1
logged "docker build" "$work/build.log" "${build[@]}" --build-arg BASE="$base" -t "$image" .
size=$("$docker" image inspect -f '{{.Size}}' "$image")
say "built $image in $(( $(date +%s) - t1 )) s ($(( size / 1000000 )) MB)"

# ---- 3. run it, classify through the port ------------------------------------------------------------
t2=$(date +%s)
container=$("$docker" run -d --name "aa-docker-test-$$" -p 127.0.0.1::8501 "$image") \
  || die "docker run $image failed"
published=$("$docker" port "$container" 8501/tcp)
[[ -n $published ]] || die "port 8501 of the container is not published"
while read -r addr; do
  [[ $addr == 127.0.0.1:* ]] || die "port 8501 is published on $addr, not on loopback only"
done <<<"$published"
url="http://$(head -n 1 <<<"$published")"
for _ in $(seq 60); do
  curl -fsS "$url/healthz" >/dev/null 2>&1 && break
  [[ $("$docker" inspect -f '{{.State.Running}}' "$container") == true ]] \
    || die "the container exited: $("$docker" logs "$container" 2>&1 | tail -n 1)"
  sleep 0.5
done
curl -fsS "$url/healthz" >/dev/null 2>&1 || die "$url/healthz did not answer within 30 s"
say "serving on $url"
# The image allows the loopback names on any port (the host's port is not the container's), and no more:
# another name is still refused, as a DNS-rebinding page's would be.
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: rebound.example' "$url/api/model")
[[ $code == 421 ]] || die "GET /api/model with Host: rebound.example answered $code, not 421"
say "a request for another Host is refused (421)"

# Clips of two classes, generated by the image's own aa-train, classified two ways with the model the
# server serves: through the port (a multipart upload, so that "file" is the clip's name) and by aa-infer
# --json in the container on the same file. The answers must be the same text but for the page's "mel".
logged "aa-train --make-demo in the container" "$work/make-demo.log" \
  "$docker" exec "$container" aa-train --make-demo /tmp/clips --per-class 6 --seed 7
for class in cough normal_breathing; do
  mkdir -p "$work/$class"
  "$docker" cp "$container:/tmp/clips/$class/0000.wav" "$work/$class/0000.wav" >/dev/null \
    || die "docker cp of the generated $class clip failed"
  want=$("$docker" exec -w "/tmp/clips/$class" "$container" sh -c 'exec aa-infer -m "$AA_MODEL" --json 0000.wav') \
    || die "aa-infer --json in the container failed on the $class clip"
  got=$(curl -sS -F "file=@$work/$class/0000.wav" "$url/api/classify") || die "POST $url/api/classify failed"
  [[ $got == *'"mel": {'* ]] || die "/api/classify answered without a mel for the $class clip: ${got:0:200}"
  got=$(sed -E 's/, "mel": \{[^}]*\}//' <<<"$got")
  if [[ $got != "$want" ]]; then
    echo "    aa-infer --json: $want" >&2
    echo "    /api/classify:   $got" >&2
    die "/api/classify and aa-infer --json differ on the $class clip"
  fi
  label=$(sed -E 's/.*"label": "([^"]*)".*/\1/' <<<"$want")
  say "/api/classify = aa-infer --json on a $class clip (label: $label)"
done

# ---- 4. what the image is and is not -----------------------------------------------------------------
uid=$("$docker" exec "$container" id -u)
server_uid=$("$docker" exec "$container" awk '/^Uid:/ { print $2 }' /proc/1/status)
[[ $uid != 0 && $server_uid != 0 ]] || die "the container runs as root (exec uid $uid, server uid $server_uid)"
say "the server runs as uid $server_uid ($("$docker" exec "$container" id -un)), not root"
# commands by name, then anything in a bin folder named like a compiler (x86_64-linux-gnu-gcc-12 too)
compilers=$("$docker" exec "$container" sh -c '
  for c in gcc cc c++ g++ cpp clang clang++ tcc as ld; do command -v "$c"; done
  ls /usr/bin /usr/local/bin /bin | grep -E "(^|-)(gcc|g\+\+|cc|c\+\+|clang|clang\+\+)(-[0-9.]+)?$"
  true')
[[ -z $compilers ]] || die "the image holds a compiler or assembler: $(tr '\n' ' ' <<<"$compilers")"
say "no compiler, assembler or linker in the image"
"$docker" stop -t 10 "$container" >/dev/null
status=$("$docker" inspect -f '{{.State.ExitCode}}' "$container")
[[ $status == 0 ]] || die "aa-infer --serve exited with status $status on docker stop (SIGTERM)"
say "docker stop: the server exited with status 0"

say "passed in $(( $(date +%s) - t0 )) s (base $(( t1 - t0 )) s, build $(( t2 - t1 )) s, checks $(( $(date +%s) - t2 )) s)"
