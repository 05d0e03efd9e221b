"""Helpers shared by the engine and strategy tests: policies from YAML text, real UK 2018 days."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from gridpilot.engine.state import PriceOutlook
from gridpilot.rules.loader import load_policy
from gridpilot.rules.policy import Policy

UK_2018 = Path(__file__).resolve().parents[2] / "examples" / "data" / "uk-2018-halfhourly.csv"
if not UK_2018.exists():
    UK_2018 = Path("/work/shared/data/uk-2018/uk-2018-halfhourly.csv")

BATTERY = {
    "capacity_kwh": 10,
    "max_charge_w": 3000,
    "max_discharge_w": 3000,
    "charge_efficiency": 0.95,
    "discharge_efficiency": 0.95,
    "min_soc_pct": 5,
    "max_soc_pct": 95,
}


def policy_doc(**sections: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "version": 1,
        "site": {
            "name": "test site",
            "timezone": "Europe/London",
            "battery": dict(BATTERY),
            "grid": {"max_import_w": 15000, "max_export_w": 4000},
        },
        "tariff": {
            "import": {
                "default": 0.20,
                "periods": [{"time": "16:00-19:00", "price": 0.35}],
            },
            "export": {"default": 0.05},
        },
    }
    doc.update(sections)
    return doc


def make_policy(tmp_path: Path, doc: dict[str, Any], name: str = "policy.yaml") -> Policy:
    """Write ``doc`` as a policy file (JSON is YAML) and load it the way users do."""
    path = tmp_path / name
    path.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    return load_policy(path)


def dynamic_tariff() -> dict[str, Any]:
    """The UK 2018 Agile-style prices, published day-ahead."""
    return {
        "import": {
            "default": 0.25,
            "dynamic": {"file": str(UK_2018), "column": "import_price"},
        },
        "export": {
            "default": 0.0,
            "dynamic": {"file": str(UK_2018), "column": "export_price"},
        },
    }


@lru_cache(maxsize=1)
def _uk_rows() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    ts, load, pv, imp, exp = [], [], [], [], []
    with UK_2018.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            ts.append(int(datetime.fromisoformat(row["timestamp"].replace("Z", "+00:00"))
                          .timestamp()))
            load.append(float(row["load_w"]))
            pv.append(float(row["pv_w"]))
            imp.append(float(row["import_price"]))
            exp.append(float(row["export_price"]))
    return (np.array(ts, dtype=np.int64), np.array(load), np.array(pv), np.array(imp),
            np.array(exp))


def uk_day(day: str) -> dict[str, np.ndarray]:
    """The 48 half-hours of ``day`` (UTC date ``YYYY-MM-DD``) from the UK 2018 file."""
    ts, load, pv, imp, exp = _uk_rows()
    t0 = int(datetime.fromisoformat(day).replace(tzinfo=UTC).timestamp())
    sel = (ts >= t0) & (ts < t0 + 86_400)
    return {"start_s": ts[sel], "load_w": load[sel], "pv_w": pv[sel], "import": imp[sel],
            "export": exp[sel]}


def uk_series(start: str, days: int) -> dict[str, np.ndarray]:
    ts, load, pv, imp, exp = _uk_rows()
    t0 = int(datetime.fromisoformat(start).replace(tzinfo=UTC).timestamp())
    sel = (ts >= t0) & (ts < t0 + days * 86_400)
    return {"start_s": ts[sel], "load_w": load[sel], "pv_w": pv[sel], "import": imp[sel],
            "export": exp[sel]}


def outlook(start_s: np.ndarray, imp: np.ndarray, exp: np.ndarray, slot_s: int = 1800
            ) -> PriceOutlook:
    return PriceOutlook(np.asarray(start_s, dtype=np.int64), int(start_s[-1]) + slot_s,
                        np.asarray(imp, dtype=np.float64), np.asarray(exp, dtype=np.float64))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
