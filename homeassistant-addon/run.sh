#!/bin/sh
# Start gridpilot inside the Home Assistant add-on: read the options the user set on the
# Configuration tab (/data/options.json), hand the Supervisor's API token to the policy as
# ${HA_TOKEN} and Home Assistant's address as ${HA_URL}, and run the policy with its state in
# the add-on's private /data. The token is never printed.
set -eu

options="${GRIDPILOT_OPTIONS:-/data/options.json}"
config_dir="${GRIDPILOT_CONFIG_DIR:-/config}"
state_dir="${GRIDPILOT_STATE_DIR:-/data/gridpilot}"

fail() {
    echo "[gridpilot] $*" >&2
    exit 2
}

[ -f "$options" ] || fail "no add-on options at $options"

# One value per line: policy_file, dry_run, log_level, mqtt_password. Python (in the image) reads
# the JSON, so no jq is needed; a broken file or a wrong type is named, not a traceback.
values="$(python3 - "$options" <<'PY'
import json, sys
try:
    with open(sys.argv[1], encoding="utf-8") as f:
        opts = json.load(f)
except (OSError, ValueError) as exc:
    sys.exit(f"[gridpilot] cannot read the add-on options: {exc}")
policy = opts.get("policy_file", "policy.yaml")
level = opts.get("log_level", "INFO")
dry = opts.get("dry_run", False)
secret = opts.get("mqtt_password") or ""
if not isinstance(policy, str) or not policy or "\n" in policy:
    sys.exit("[gridpilot] option policy_file: give the policy's file name, e.g. policy.yaml")
if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
    sys.exit("[gridpilot] option log_level: one of DEBUG, INFO, WARNING, ERROR")
if not isinstance(dry, bool):
    sys.exit("[gridpilot] option dry_run: true or false")
if not isinstance(secret, str) or "\n" in secret:
    sys.exit("[gridpilot] option mqtt_password: one line of text")
print(policy, "true" if dry else "false", level, secret, sep="\n")
PY
)" || exit 2

policy_file="$(printf '%s\n' "$values" | sed -n 1p)"
dry_run="$(printf '%s\n' "$values" | sed -n 2p)"
log_level="$(printf '%s\n' "$values" | sed -n 3p)"
mqtt_password="$(printf '%s\n' "$values" | sed -n 4p)"

case "$policy_file" in
    /*) policy="$policy_file" ;;
    *) policy="$config_dir/$policy_file" ;;
esac
[ -f "$policy" ] || fail "no policy at $policy: put it in the add-on's folder" \
    "(addon_configs/<slug>/ on the host, /config in the add-on) or fix the option policy_file"

if [ -n "${SUPERVISOR_TOKEN:-}" ]; then
    # The Supervisor proxies Home Assistant's API at http://supervisor/core (with /api under it).
    export HA_TOKEN="$SUPERVISOR_TOKEN"
    export HA_URL="${HA_URL:-http://supervisor/core}"
else
    echo "[gridpilot] no SUPERVISOR_TOKEN: homeassistant_api is off; a homeassistant device" \
        "needs its own token" >&2
fi
if [ -n "$mqtt_password" ]; then
    export MQTT_PASSWORD="$mqtt_password"
fi

mkdir -p "$state_dir"
set -- run "$policy" --state-dir "$state_dir" --log-level "$log_level"
if [ "$dry_run" = "true" ]; then
    set -- "$@" --dry-run
fi
echo "[gridpilot] starting: gridpilot $*"
exec gridpilot "$@"
