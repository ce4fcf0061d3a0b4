"""The Google emulator as a pytest fixture: one fresh server (and state) per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.emulators.google import GoogleEmulator


@pytest.fixture
def google_emulator() -> Iterator[GoogleEmulator]:
    emulator = GoogleEmulator().start()
    try:
        yield emulator
    finally:
        emulator.stop()
