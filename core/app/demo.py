"""Demo mode: with no API key the app runs on a local emulator process it starts itself.

The emulator keeps its platform in a state file beside the mirror (`demo.emulator-state` next to
`demo.duckdb`, see core/emulator/persist.py), and the mirror remembers which platform it was filled
from (`demo.duckdb.emulator`: the emulator's instance id). A restart keeps the mirror only when the
emulator restored that very platform; otherwise (no state file, another seed or scale, a state file
too old, a mirror from before) both start fresh, so the mirror never holds an object the emulator
does not.
"""
from __future__ import annotations

import atexit
import os
from pathlib import Path

from core.emulator.launcher import EmulatorProcess, start_emulator
from core.settings import Settings


def state_file_for(mirror: Path) -> Path:
    """Where the emulator keeps the platform a demo mirror is filled from."""
    return mirror.with_name(mirror.stem + ".emulator-state")


def marker_for(mirror: Path) -> Path:
    """The file that names the emulator platform (instance id) a demo mirror was filled from."""
    return mirror.with_name(mirror.name + ".emulator")


def start_demo_emulator(settings: Settings, state_file: Path | None = None) -> EmulatorProcess:
    """Start the emulator at the configured demo scale; it stops when this process exits (or dies)."""
    args = ["--scale", settings.connect_ops_demo_scale, "--seed", str(settings.connect_ops_demo_seed)]
    if state_file is not None:
        args += ["--state-file", str(state_file)]
    process = start_emulator(*args)
    atexit.register(process.stop)
    return process


def reconcile_mirror(mirror: Path, emulator: EmulatorProcess) -> bool:
    """Keep `mirror` if it was filled from the platform `emulator` restored; else delete it. True if kept.

    The caller has checked that no other process holds the mirror (DuckDB's lock).
    """
    marker = marker_for(mirror)
    try:
        recorded = marker.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        recorded = None
    if emulator.restored and emulator.instance and recorded == emulator.instance:
        return mirror.exists()
    for stale in (mirror, mirror.with_name(mirror.name + ".wal")):
        try:
            stale.unlink()
        except FileNotFoundError:
            pass
        except OSError:
            break  # locked or not ours to delete: Store() will say so in words
    mirror.parent.mkdir(parents=True, exist_ok=True)
    temporary = marker.with_name(marker.name + ".tmp")
    temporary.write_text(emulator.instance or "", encoding="utf-8")
    os.replace(temporary, marker)  # the (still empty) mirror now belongs to this platform
    return False


def demo_settings(settings: Settings, process: EmulatorProcess) -> Settings:
    """The same settings, pointed at the emulator's base URL and key."""
    return settings.model_copy(update={"stripe_api_key": process.api_key, "stripe_api_base": process.base_url})
