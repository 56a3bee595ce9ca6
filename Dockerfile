# One image for both processes of the Procfile: `web` (the default command) and `worker`
# (`docker run IMAGE referral-bot worker`). Built in two stages so the image holds the
# installed product and nothing it was built with.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# The locked, hash-checked dependencies first: this layer is reused until the lock changes.
COPY requirements.lock ./
RUN python -m venv /venv && /venv/bin/pip install --require-hashes -r requirements.lock
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY cards ./cards
RUN /venv/bin/pip install --no-deps .

FROM python:3.11-slim
# Never root: the processes need no privilege, and a compromise should get none.
RUN useradd --system --uid 10001 --create-home --home-dir /home/bot bot
COPY --from=build /venv /venv
ENV PATH=/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/home/bot/data \
    LOG_FORMAT=json
USER bot
WORKDIR /home/bot
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
    CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/healthz', timeout=4)"
# The Procfile's web command.
CMD ["sh", "-c", "exec referral-bot serve --no-worker --host ${HOST:-0.0.0.0} --port ${PORT:-3000}"]
