# One image for the three semlink services; compose picks the service with its command:
#   python -m receiver_service | python -m channel_sim | python -m transmitter_service
# Torch goes first, pinned, from pip's default index (there it is the CUDA build, what the GPU services want).
# To install from another index (a mirror, or a CPU-only torch build), pass it as a build argument:
#   docker build --build-arg INDEX_URL=<your index> .              (torch and every other package)
#   docker build --build-arg TORCH_INDEX_URL=<your torch index> .  (torch only)
FROM python:3.11-slim

ARG TORCH_SPEC=torch==2.13.0
ARG INDEX_URL=
ARG TORCH_INDEX_URL=

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HOME=/cache/huggingface

WORKDIR /app

RUN INDEX="${TORCH_INDEX_URL:-$INDEX_URL}" && pip install ${INDEX:+--index-url "$INDEX"} "${TORCH_SPEC}"

# The project's dependencies in their own layer (torch above already satisfies its pin), then the code.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install ${INDEX_URL:+--index-url "$INDEX_URL"} -r /tmp/requirements.txt

COPY README.md ./
COPY proto ./proto
COPY semlink ./semlink
COPY receiver_service ./receiver_service
COPY channel_sim ./channel_sim
COPY transmitter_service ./transmitter_service
COPY trainer ./trainer
RUN pip install --no-deps . \
    && python -c "import semlink, receiver_service, channel_sim, transmitter_service"

RUN useradd --create-home --uid 1000 semlink && mkdir -p /cache/huggingface && chown -R semlink /cache
USER semlink

# Services listen on all interfaces inside the container; compose sets ports and the rest.
ENV SEMLINK_RX_HOST=0.0.0.0 SEMLINK_CH_HOST=0.0.0.0 SEMLINK_TX_HOST=0.0.0.0
EXPOSE 8000 8001 8002 50051 50052
CMD ["python", "-m", "receiver_service", "--help"]
