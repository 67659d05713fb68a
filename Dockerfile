# One image for the three semlink services; compose picks the service with its command:
#   python -m receiver_service | python -m channel_sim | python -m transmitter_service
# Torch goes first, pinned: from PyPI it is the CUDA build (what the GPU services want);
# for a CPU-only image:  docker build --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cpu .
FROM python:3.11-slim

ARG TORCH_SPEC=torch==2.13.0
ARG TORCH_INDEX=https://pypi.org/simple

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HOME=/cache/huggingface

WORKDIR /app

RUN pip install --index-url "${TORCH_INDEX}" "${TORCH_SPEC}"

# The project's dependencies in their own layer (torch above already satisfies its pin), then the code.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt

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
