# Audio Audit's web page and HTTP API (aa-infer --serve) in a container.
#
#   docker build -t audio-audit .                                   # FROM debian:12-slim
#   docker build --build-arg BASE=my-bookworm -t audio-audit .      # any Debian 12 image, e.g. a debootstrapped one
#   docker run --rm -p 127.0.0.1:8501:8501 audio-audit
#   docker run --rm -p 127.0.0.1:8501:8501 -v "$PWD/models:/models:ro" -e AA_MODEL=/models/my.aam audio-audit
#
# Without a mounted model the image serves the demo model it trained at build time (synthetic data: it
# shows the pipeline, it is not a respiratory classifier). scripts/docker-test.sh builds it from a base made
# with debootstrap, runs it and classifies a clip through its port.

# Both stages start from the same Debian 12, so the libraries the binaries were linked against in the
# builder are the versions the runtime stage installs.
ARG BASE=debian:12-slim

FROM ${BASE} AS build
# Lets scripts/docker-test.sh remove this stage's images (classic builder) and nothing else.
LABEL io.audio-audit.stage=build
ENV DEBIAN_FRONTEND=noninteractive
WORKDIR /src
# The build dependencies first, from the one list of them, in a layer of their own: a change to the
# sources does not download the compiler again.
COPY scripts/install-deps.sh scripts/
RUN apt-get update -qq && bash scripts/install-deps.sh build && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin
COPY . .
# Only the two binaries: the image has no use for the library, its static archive or the man pages.
RUN make -j"$(nproc)" build/aa-train build/aa-infer
# A demo model small enough to train in about ten seconds on two cores (the architecture the browser test
# and the package tests use); the image should build in a minute or two, not show off accuracy.
RUN build/aa-train --make-demo /tmp/demo --per-class 40 --seed 1 >/dev/null \
 && build/aa-train /tmp/demo -o /src/build/demo.aam --arch "p2 p2 c12 bn relu p2 c24 bn relu p2 c32 bn relu gap fc" \
        --epochs 15 --lr 0.01 --seed 1 --no-cache --quiet

FROM ${BASE}
ENV DEBIAN_FRONTEND=noninteractive
# Runtime libraries only, no compiler. The binaries link libsndfile1 (which brings FLAC, Vorbis, Opus,
# MP3), libfftw3-single3, libsoxr0 and libgomp1 (ldd). Two more are loaded with dlopen and so are not in
# ldd's list: libopenblas.so.0, which libopenblas0-pthread provides through the alternatives system
# (nn/gemm.c), and libmicrohttpd.so.12, loaded when a server starts (infer/mhd.c). apt's package lists and
# its two caches of them (78 MB) go in the same layer.
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends libsndfile1 libfftw3-single3 libsoxr0 libgomp1 \
        libopenblas0-pthread libmicrohttpd12 \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/apt/archives/*.deb \
 && useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin audit
COPY --from=build /src/build/aa-infer /src/build/aa-train /usr/local/bin/
COPY --from=build /src/build/demo.aam /usr/local/share/audio-audit/demo.aam
# The image fails to build rather than to start: every linked library is there, and the model's self-test
# recomputes its stored test signal through the dlopen'd OpenBLAS.
RUN ! ldd /usr/local/bin/aa-infer /usr/local/bin/aa-train | grep 'not found' \
 && aa-infer -m /usr/local/share/audio-audit/demo.aam --selftest >/dev/null
ENV AA_MODEL=/usr/local/share/audio-audit/demo.aam
# A published port is usually another number on the host (-p 127.0.0.1:8080:8501), which the Host header
# then names: the loopback names are allowed on any port. Set AA_ALLOW_HOST to the names (NAME or
# NAME:PORT, comma-separated) the server is reached by, or to nothing to keep only its own port.
ENV AA_ALLOW_HOST=localhost,127.0.0.1
USER audit
WORKDIR /tmp
EXPOSE 8501
# exec: aa-infer is PID 1 and stops cleanly on the SIGTERM of docker stop.
CMD ["/bin/sh", "-c", "exec aa-infer -m \"$AA_MODEL\" --serve --host 0.0.0.0 --port 8501 ${AA_ALLOW_HOST:+--allow-host \"$AA_ALLOW_HOST\"}"]
