"""The short variant of benchmarks/soak.py: the source changes in real time while incrementals run,
with faults, drops, kills and a skewed clock; every round ends equal to the source."""
from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

from tests.mirror.test_sync import ROOT

SEED = int(os.environ.get("CONNECT_OPS_TEST_SEED", "20261202"))


def _soak_module():
    spec = importlib.util.spec_from_file_location("soak", ROOT / "benchmarks" / "soak.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["soak"] = module  # its dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def test_short_soak_finds_no_difference(tmp_path: Path) -> None:
    report = _soak_module().soak(rounds=3, seconds=4, seed=SEED, db=tmp_path / "soak.duckdb")
    assert report.rounds == 3 and report.changes > 0
    assert not report.differences, "\n".join(report.lines())
