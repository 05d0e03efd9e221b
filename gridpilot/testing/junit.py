"""JUnit XML for CI systems: one ``<testsuite>`` per file, one ``<testcase>`` per case."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from gridpilot.testing.report import format_failure, format_load_error
from gridpilot.testing.session import SuiteResult

__all__ = ["junit_xml", "write_junit"]

# Characters XML 1.0 cannot carry at all; a case name or an error text may hold them.
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _clean(text: str) -> str:
    return _INVALID_XML.sub("\ufffd", text)


def _classname(file: str) -> str:
    stem = file.removesuffix(".yaml").removesuffix(".yml")
    return stem.replace("\\", "/").strip("./").replace("/", ".") or "gridpilot"


def junit_xml(results: Sequence[SuiteResult]) -> str:
    """The JUnit XML document for ``results``."""
    root = ET.Element("testsuites", name="gridpilot")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    total_time = 0.0
    for sr in results:
        suite_el = ET.SubElement(root, "testsuite", name=_clean(sr.suite.file))
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        suite_time = 0.0
        if sr.suite.error is not None:
            counts["tests"] += 1
            counts["errors"] += 1
            case_el = ET.SubElement(
                suite_el, "testcase", name="(load)", classname=_clean(_classname(sr.suite.file)),
                file=_clean(sr.suite.file), time="0",
            )
            text = format_load_error(sr.suite)
            err = ET.SubElement(case_el, "error", message=_clean(text.splitlines()[-1].strip()),
                                type="PolicyError")
            err.text = _clean(text)
        tz = sr.suite.policy.tz if sr.suite.policy is not None else None
        for r in sr.results:
            counts["tests"] += 1
            suite_time += r.duration_s
            case_el = ET.SubElement(
                suite_el, "testcase", name=_clean(r.name), classname=_clean(_classname(r.file)),
                file=_clean(r.file), line=str(r.line), time=f"{r.duration_s:.6f}",
            )
            if r.outcome == "skipped":
                counts["skipped"] += 1
                ET.SubElement(case_el, "skipped", message=_clean(r.message))
            elif r.outcome == "error":
                counts["errors"] += 1
                el = ET.SubElement(case_el, "error", message=_clean(r.message),
                                   type="ScenarioError")
                el.text = _clean(format_failure(r, tz=tz))
            elif r.outcome == "failed":
                counts["failures"] += 1
                first = r.failures[0]
                bad = [row for row in first.rows if not row.ok]
                summary = (
                    f"{first.title}: {bad[0].field} expected {bad[0].expected}, "
                    f"got {bad[0].actual}" if bad else f"{first.title}: {first.message}"
                )
                el = ET.SubElement(case_el, "failure", message=_clean(summary),
                                   type="ScenarioMismatch")
                el.text = _clean(format_failure(r, tz=tz))
        for key, value in counts.items():
            suite_el.set(key, str(value))
            totals[key] += value
        suite_el.set("time", f"{suite_time:.6f}")
        total_time += suite_time
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", f"{total_time:.6f}")
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def write_junit(results: Sequence[SuiteResult], path: str | Path) -> None:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(junit_xml(results), encoding="utf-8")
