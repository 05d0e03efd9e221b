# gridpilot as a container: `docker build -t gridpilot .`, then
#   docker run -d --name gridpilot -v gridpilot-state:/data -v "$PWD/policy:/config:ro" \
#     -e HA_TOKEN=... gridpilot
# The policy is read from /config/policy.yaml (GRIDPILOT_POLICY), the audit log, overrides and
# mode memory are kept in the /data volume, and the process runs as an unprivileged user.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY gridpilot ./gridpilot
# The mqtt extra: publishing decisions to Home Assistant is what most container users want.
RUN pip install ".[mqtt]" && rm -rf /src

COPY docker/entrypoint.sh /usr/local/bin/gridpilot-entrypoint
RUN useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin gridpilot \
    && mkdir -p /data /config \
    && chown gridpilot:gridpilot /data \
    && chmod 0755 /usr/local/bin/gridpilot-entrypoint

USER gridpilot
WORKDIR /data
VOLUME ["/data"]
ENV GRIDPILOT_POLICY=/config/policy.yaml \
    GRIDPILOT_STATE_DIR=/data
# The dashboard and control API listen on loopback inside the container unless the policy says
# otherwise; publish a port only for an address you bind on purpose.
ENTRYPOINT ["gridpilot-entrypoint"]
CMD ["run"]
