"""The Microsoft emulator as a pytest fixture: one fresh server (and state) per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.emulators.microsoft import MicrosoftEmulator


@pytest.fixture
def microsoft_emulator() -> Iterator[MicrosoftEmulator]:
    emulator = MicrosoftEmulator().start()
    try:
        yield emulator
    finally:
        emulator.stop()
