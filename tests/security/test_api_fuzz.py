"""The JSON API fuzzed by schemathesis from its own OpenAPI schema, signed in as a super admin:
no response is a 5xx, and every 4xx carries the error format ``{"error": {"code", "message"}}``.

CI runs a few examples per operation; ``make fuzz`` sets ``INBOXLINK_FUZZ_EXAMPLES`` higher.
"""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings

from tests.support.api_helpers import run_cli

EXAMPLES = int(os.environ.get("INBOXLINK_FUZZ_EXAMPLES", "8"))
STATUSES: Counter[int] = Counter()


@pytest.fixture(scope="module")
def fuzz_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from inboxlink.config import Settings
    from inboxlink.runtime import Runtime
    from inboxlink.web.app import create_app

    data = tmp_path_factory.mktemp("fuzz")
    run_cli(data, "db", "upgrade")
    run_cli(
        data, "admin", "create-user", "boss@acme.test", "--password", "long enough pw",
        "--role", "super-admin",
    )  # fmt: skip
    token = run_cli(data, "admin", "create-token", "boss@acme.test").strip().splitlines()[-1]
    runtime = Runtime.build(Settings(data_dir=Path(data)))
    app = create_app(runtime)
    yield {"app": app, "headers": {"Authorization": f"Bearer {token}"}}
    print(f"[figures] api fuzz: responses by status {dict(sorted(STATUSES.items()))}")


def test_api_never_500_and_errors_use_the_error_format(fuzz_env: dict[str, Any]) -> None:
    api_schema = schemathesis.openapi.from_asgi("/api/openapi.json", fuzz_env["app"])
    failures: list[str] = []
    operations = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @hypothesis_settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def check(case: Any) -> None:
            response = case.call(headers=fuzz_env["headers"])
            STATUSES[response.status_code] += 1
            problem = _problem(response)
            if problem:
                failures.append(f"{case.method} {case.formatted_path}: {problem}")
                raise AssertionError(problem)

        with contextlib.suppress(AssertionError):  # recorded; go on with the others
            check()
    print(f"[figures] api fuzz: {operations} operations x <= {EXAMPLES} examples")
    assert operations >= 10
    assert failures == [], "\n".join(failures[:20])


def _problem(response: Any) -> str:
    if response.status_code >= 500:
        return f"{response.status_code}: {response.text[:300]}"
    if 400 <= response.status_code < 500:
        try:
            body = response.json()
        except ValueError:
            return f"{response.status_code} without JSON: {response.text[:200]}"
        error = body.get("error") if isinstance(body, dict) else None
        if not (
            isinstance(body, dict)
            and set(body) == {"error"}
            and isinstance(error, dict)
            and isinstance(error.get("code"), str)
            and isinstance(error.get("message"), str)
            and error["code"]
            and error["message"]
        ):
            return f"{response.status_code} not in the error format: {str(body)[:200]}"
    return ""
