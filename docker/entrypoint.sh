#!/bin/sh
# The container's entry point. `run` (the default) and `check` work on the policy named by
# GRIDPILOT_POLICY with the state in GRIDPILOT_STATE_DIR; anything else is passed to gridpilot
# as it is (`docker run gridpilot --version`, `... decide ...`). Problems a user can fix are
# said in one line, with what to do, and exit 2 (a usage error).
set -eu

policy="${GRIDPILOT_POLICY:-/config/policy.yaml}"
state_dir="${GRIDPILOT_STATE_DIR:-/data}"
command="${1:-run}"

fail() {
    echo "gridpilot-entrypoint: $*" >&2
    exit 2
}

need_policy() {
    [ -f "$policy" ] || fail "no policy at $policy: mount the folder holding it at /config" \
        "(-v \"\$PWD:/config:ro\") or set GRIDPILOT_POLICY to its path"
}

case "$command" in
    run)
        if [ $# -gt 0 ]; then shift; fi
        need_policy
        mkdir -p "$state_dir" 2>/dev/null || true
        # Fails closed: without a writable state folder the audit log and the memory of the
        # modes gridpilot set would be lost, and a restart could mistake its own mode for a
        # person's.
        [ -w "$state_dir" ] || fail "the state folder $state_dir is not writable by uid" \
            "$(id -u): give the volume to that user (docker run ... --user), or chown it"
        exec gridpilot run "$policy" --state-dir "$state_dir" "$@"
        ;;
    check)
        shift
        need_policy
        exec gridpilot check "$policy" "$@"
        ;;
    *)
        exec gridpilot "$@"
        ;;
esac
