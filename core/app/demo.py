"""Demo mode: with no API key the app runs on a local emulator process it starts itself."""
from __future__ import annotations

import atexit

from core.emulator.launcher import EmulatorProcess, start_emulator
from core.settings import Settings


def start_demo_emulator(settings: Settings) -> EmulatorProcess:
    """Start the emulator at the configured demo scale; it stops when this process exits."""
    process = start_emulator("--scale", settings.connect_ops_demo_scale, "--seed", str(settings.connect_ops_demo_seed))
    atexit.register(process.stop)
    return process


def demo_settings(settings: Settings, process: EmulatorProcess) -> Settings:
    """The same settings, pointed at the emulator's base URL and key."""
    return settings.model_copy(update={"stripe_api_key": process.api_key, "stripe_api_base": process.base_url})
