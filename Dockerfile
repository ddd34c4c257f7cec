# tgvault service image: `docker compose up` runs `tgvault run` with the config in ./config.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml constraints.txt README.md alembic.ini ./
COPY src ./src
COPY migrations ./migrations
RUN pip install -c constraints.txt '.[postgres,s3]' \
    && useradd --create-home --uid 1000 tgvault \
    && mkdir -p /app/data && chown tgvault /app/data

USER tgvault
VOLUME ["/app/data"]
ENTRYPOINT ["tgvault"]
CMD ["run"]
