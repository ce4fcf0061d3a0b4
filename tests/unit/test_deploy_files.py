"""The deployment files in deploy/ stay runnable: every command line they start parses with
the CLI of this version, and every setting they set exists. (The process layout itself — web
with --no-worker, workers with --concurrency and --ops-port on PostgreSQL with procrastinate —
runs in tests/integration/test_scale_out.py.)"""

from __future__ import annotations

import configparser
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from inboxlink.cli import app
from inboxlink.config import Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "systemd"
UNITS = sorted(DEPLOY.glob("*.service"))


def exec_start(unit: Path) -> list[str]:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(unit)
    command = shlex.split(parser["Service"]["ExecStart"].replace("%i", "9101"))
    assert command[0] == "/opt/inboxlink/bin/inboxlink"
    return command[1:]


def test_there_are_units_for_web_worker_and_migrations() -> None:
    assert {unit.name for unit in UNITS} == {
        "inboxlink-migrate.service",
        "inboxlink-web.service",
        "inboxlink-worker@.service",
    }


@pytest.mark.parametrize("unit", UNITS, ids=lambda unit: unit.name)
def test_unit_command_parses_with_this_cli(unit: Path) -> None:
    # --help makes the command stop after parsing: an unknown command or option exits with 2.
    result = CliRunner().invoke(app, [*exec_start(unit), "--help"])
    assert result.exit_code == 0, result.output


def test_environment_example_sets_only_known_settings() -> None:
    known = {f"INBOXLINK_{name.upper()}" for name in Settings.model_fields}
    lines = (DEPLOY / "inboxlink.env.example").read_text().splitlines()
    keys = {
        line.lstrip("# ").split("=", 1)[0] for line in lines if "=" in line and "INBOXLINK_" in line
    }
    assert keys and keys <= known, keys - known
    assert "INBOXLINK_JOB_ENGINE" in keys and "INBOXLINK_SECRET_KEY" in keys
