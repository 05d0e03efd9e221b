"""The day every end-to-end scheduler test runs, whatever the device: a cheap night that charges,
an evening peak that discharges, self-consumption otherwise. Each test adds its own ``device:``
and ``run:`` sections; braces are doubled because the tests fill their policy with ``format``."""

from __future__ import annotations

DAY_PLAN = """\
tariff:
  import:
    default: 0.30
    periods:
      - time: "01:30-06:30"
        price: 0.10
rules:
  - name: night charge
    layer: schedule
    when: {{time: "01:30-06:30"}}
    action: {{kind: charge, power_w: 2000, target_soc_pct: 90}}
  - name: evening peak
    layer: schedule
    when: {{time: "17:00-20:00"}}
    action: {{kind: discharge, power_w: 2500}}
default:
  action: {{kind: self_consumption}}
control:
  min_dwell_s: 0
"""
