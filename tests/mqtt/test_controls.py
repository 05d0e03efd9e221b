"""Property: whatever arrives on the override topics, the controls either set an override the
control API would accept (within the battery's power) or refuse it in the audit; they never
raise and never leave the store holding something else."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from gridpilot.clock import ManualClock
from gridpilot.mqtt.controls import MQTT_OVERRIDE, OverrideControls
from gridpilot.scheduler.audit import AuditLog, read_audit
from gridpilot.scheduler.overrides import OverrideStore

T0 = datetime(2024, 3, 31, 0, 30, tzinfo=UTC)
KEYS = st.sampled_from(["override_mode", "override_power", "override_clear", "other"])
PAYLOADS = st.one_of(
    st.sampled_from(["auto", "charge", "discharge", "hold", "CHARGE", "PRESS", "0", "-5",
                     "1e400", "nan", "inf", "2999.5", "3000", "3001", ""]),
    st.binary(max_size=30),
    st.text(max_size=30).map(str.encode),
    st.floats(allow_nan=True).map(lambda f: repr(f).encode()),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(KEYS, PAYLOADS), max_size=8))
def test_any_command_sequence_is_safe(commands: list[tuple[str, bytes | str]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        clock = ManualClock(T0)
        store, audit = OverrideStore(Path(tmp)), AuditLog(Path(tmp))
        controls = OverrideControls(store, audit, clock, for_s=3600, power_w=3000,
                                    max_power_w=3000, broker_user="u")
        for key, payload in commands:
            controls.handle(key, payload if isinstance(payload, bytes) else payload.encode())
            for o in store.all():
                assert o.name == MQTT_OVERRIDE
                assert o.action.kind.value in ("charge", "discharge", "hold")
                power = o.action.power_w
                assert power is None or 0 < power <= 3000
                assert (o.until - o.start).total_seconds() == 3600
            assert controls.mode() in ("auto", "charge", "discharge", "hold")
            assert 0 < controls.power_w <= 3000
        audit.close()
        kinds = {r["kind"] for r in read_audit(Path(tmp))}
        assert kinds <= {"override_set", "override_cleared", "override_refused"}
