# Audio Audit web page and API in a container.
#
#   docker build -t audio-audit .
#   docker run --rm -p 8501:8501 -v "$PWD/models:/models:ro" -e AA_MODEL=/models/model.aam audio-audit
#
# Without a mounted model the image serves the demo model it trained at build time (synthetic data: it
# shows the pipeline, it is not a respiratory classifier).
FROM debian:12-slim AS build
WORKDIR /src
COPY . .
RUN apt-get update && bash scripts/install-deps.sh build && make -j"$(nproc)" \
 && build/aa-train --make-demo /tmp/demo --per-class 40 --seed 1 \
 && build/aa-train /tmp/demo -o /src/build/demo.aam --arch "c8 bn relu p2 c16 bn relu p2 c32 bn relu gap fc" \
        --epochs 12 --cache /tmp/demo.aacache --quiet

FROM debian:12-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libopenblas0-pthread libsndfile1 libfftw3-single3 libsoxr0 \
        libmicrohttpd12 libgomp1 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --no-create-home audit
COPY --from=build /src/build/aa-infer /src/build/aa-train /usr/local/bin/
COPY --from=build /src/build/demo.aam /usr/local/share/audio-audit/demo.aam
ENV AA_MODEL=/usr/local/share/audio-audit/demo.aam
USER audit
EXPOSE 8501
CMD ["/bin/sh", "-c", "exec aa-infer -m \"$AA_MODEL\" --serve --host 0.0.0.0 --port 8501"]
