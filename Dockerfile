# The gateway image for real deployments (MongoDB comes from docker-compose.yml or HARI_MONGODB_URL).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY requirements.lock ./
RUN pip install -r requirements.lock

COPY pyproject.toml README.md ./
COPY gateway ./gateway
COPY rest ./rest
COPY graph ./graph
COPY storage ./storage
COPY hooks ./hooks
RUN pip install --no-deps . && useradd --system --uid 10001 hari
USER hari

ENV HARI_HOST=0.0.0.0 PORT=8000
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/api/ready').status != 200)"
CMD ["hari-gateway", "serve"]
