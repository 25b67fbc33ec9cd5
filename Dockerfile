# One image for every CE-NAS service; compose.yaml picks the command per service.
#   docker build -t cenas .                                   # CUDA build of torch (GPU hosts)
#   docker build --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu -t cenas:cpu .
FROM python:3.11-slim

ARG TORCH_INDEX_URL=https://pypi.org/simple
ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    CENAS_DATA_DIR=/data

WORKDIR /app
# torch first and pinned (the same pin as pyproject.toml), so the project install never
# resolves another build
RUN pip install --index-url "$TORCH_INDEX_URL" torch==2.13.0
COPY pyproject.toml README.md ./
COPY cenas ./cenas
COPY cenas_cli ./cenas_cli
COPY forecaster_svc ./forecaster_svc
COPY scheduler_svc ./scheduler_svc
COPY optimizer_svc ./optimizer_svc
COPY worker ./worker
COPY gateway ./gateway
RUN pip install . \
    && useradd --create-home --uid 10001 cenas \
    && mkdir -p /data && chown cenas /data

# No secret is baked in: broker and database URLs, provider tokens come from the
# environment (or files) at run time.
USER cenas
VOLUME ["/data"]
EXPOSE 8000
CMD ["python", "-m", "gateway"]
