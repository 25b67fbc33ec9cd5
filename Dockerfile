# One image for every CE-NAS service; compose.yaml picks the command per service.
#   docker build -t cenas .                                   # CUDA build of torch (GPU hosts)
#   docker build --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu -t cenas:cpu .
# (deploy/smoke.sh builds the CPU image from a local wheel: deploy/images/python.)
FROM python:3.11-slim

ARG TORCH_INDEX_URL=https://pypi.org/simple
ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    CENAS_DATA_DIR=/data

# lightgbm (the forecaster's models) loads the system's OpenMP runtime; slim images lack it
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin

WORKDIR /app
# torch first and pinned (the same pin as pyproject.toml), so the project install never
# resolves another build
RUN pip install --index-url "$TORCH_INDEX_URL" torch==2.13.0
# the dependencies alone, from pyproject.toml: this layer is rebuilt only when they change,
# not on every change of the code
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt
COPY README.md ./
COPY cenas ./cenas
COPY cenas_cli ./cenas_cli
COPY forecaster_svc ./forecaster_svc
COPY scheduler_svc ./scheduler_svc
COPY optimizer_svc ./optimizer_svc
COPY worker ./worker
COPY gateway ./gateway
# a non-root user owns /data; a new named volume mounted there takes this ownership
RUN pip install --no-deps . \
    && useradd --create-home --uid 10001 cenas \
    && mkdir -p /data && chown cenas /data

# No secret is baked in: broker and database URLs, provider tokens come from the
# environment (or files) at run time.
USER cenas
VOLUME ["/data"]
EXPOSE 8000
CMD ["python", "-m", "gateway"]
