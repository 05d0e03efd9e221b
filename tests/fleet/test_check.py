"""fleet.yaml validation: every bad site named with file:line and field; one bad site stops
none of the others."""

from __future__ import annotations

from pathlib import Path

import pytest

from gridpilot.errors import PolicyError
from gridpilot.fleet import load_fleet
from tests.cli.runner import run_cli
from tests.fleet.conftest import DATA, POLICY


def _write(tmp_path: Path, sites: str, defaults: str = "") -> Path:
    p = tmp_path / "fleet.yaml"
    p.write_text(f"defaults:\n  policy: {POLICY}\n  data: {DATA}\n{defaults}sites:\n{sites}")
    return p


def test_each_bad_site_is_located_and_the_good_ones_stay(tmp_path: Path) -> None:
    p = _write(tmp_path, """\
  - name: ok
  - name: typo
    sett: {}
  - name: bad-path
    set: {site.battery.nope: 1}
  - name: bad-value
    set: {site.battery.capacity_kwh: -2}
  - name: no-data
    data: missing.csv
  - name: ok
  - name: bad-transform
    transform: {load_scale: 0}
""")
    fleet = load_fleet(p)
    assert [s.name for s in fleet.sites] == ["ok"]
    errors = {pr.name + str(pr.index): pr.error for pr in fleet.problems}
    assert len(fleet.problems) == 6
    text = "\n".join(errors.values())
    assert f"{p}:7:5: sites[1].sett: unknown key 'sett'" in text
    assert f"{p}:9:11: sites[2].set.site.battery.nope:" in text and "unknown key 'nope'" in text
    assert "sites[3].set.site.battery.capacity_kwh" in text and "greater than 0" in text
    assert "sites[4].data: data file" in text and "not found" in text
    assert "sites[5].name: site 'ok' is already defined" in text
    assert "sites[6].transform.load_scale" in text


def test_a_broken_file_as_a_whole_is_one_located_error(tmp_path: Path) -> None:
    p = tmp_path / "fleet.yaml"
    p.write_text("version: 2\nsites: []\n")
    with pytest.raises(PolicyError) as exc:
        load_fleet(p)
    assert f"{p}:1:" in str(exc.value) and "version" in str(exc.value)
    assert "sites" in str(exc.value)


def test_a_data_pattern_is_one_site_per_file(tmp_path: Path) -> None:
    for stem in ("north", "south"):
        (tmp_path / f"{stem}.csv").write_text(DATA.read_text()[:2000].rsplit("\n", 1)[0] + "\n")
    fleet = load_fleet(_write(tmp_path, "  - name: home-{stem}\n    data: '*.csv'\n"))
    assert [s.name for s in fleet.sites] == ["home-north", "home-south"]


def test_cli_check_exit_codes(tiny_fleet: Path, tmp_path: Path) -> None:
    bad = run_cli("fleet", "check", str(tiny_fleet))
    assert bad.returncode == 1
    assert "site 'broken': invalid" in bad.stdout and "3 of 4 sites valid" in bad.stdout
    good = _write(tmp_path, "  - name: only\n")
    assert run_cli("fleet", "check", str(good)).returncode == 0
    assert "Traceback" not in bad.stderr


def test_the_example_fleet_is_valid() -> None:
    root = Path(__file__).resolve().parents[2]
    fleet = load_fleet(root / "examples" / "fleet" / "fleet.yaml")
    assert len(fleet.sites) == 20 and not fleet.problems
