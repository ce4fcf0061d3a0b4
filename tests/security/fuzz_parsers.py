"""Coverage-guided fuzzing of the parsing layer with atheris (libFuzzer), for ``make fuzz``.

    python -m tests.security.fuzz_parsers [RUNS]

Runs ``parser_target.exercise`` RUNS times (default 1,000,000), seeded with the bad-MIME
corpus (inputs up to 16 KiB), the email parser and inboxlink instrumented for coverage. Any
exception or broken promise is a crash: libFuzzer stops, prints the traceback and writes
the input to ``test-output/fuzz/``; an input taking over 10 s is a hang and stops it the
same way. Prints ``[figures] parser fuzz: executions=… crashes=0`` when it finishes clean.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import atheris

# Coverage of the stdlib email parser and of inboxlink only: instrumenting everything loaded
# (atheris.instrument_all) ran 165 inputs a second, too slow for a million.
with atheris.instrument_imports(include=["email", "inboxlink"]):
    from tests.security.parser_target import exercise
from tests.support.mime_corpus import cpython_samples, nasty_samples

ARTIFACTS = Path("test-output/fuzz")
MAX_LEN = 16_384
_started = time.monotonic()
_runs = 0
_target = 0


def _one(data: bytes) -> None:
    global _runs
    exercise(data)
    _runs += 1
    if _runs % 100_000 == 0 or _runs == _target:
        rate = _runs / (time.monotonic() - _started)
        print(f"[fuzz] {_runs} executions, {rate:.0f}/s", flush=True)
        if _runs == _target:
            print(f"[figures] parser fuzz: executions={_runs} crashes=0 hangs=0", flush=True)


def _seed(folder: Path) -> int:
    samples = cpython_samples("ann@x.example") + nasty_samples("ann@x.example", big=False)
    seeds = [s for s in samples if len(s.raw) <= MAX_LEN]
    for number, sample in enumerate(seeds):
        (folder / f"seed-{number}").write_bytes(sample.raw)
    return len(seeds)


def main() -> None:
    global _target
    _target = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as corpus:
        print(f"[fuzz] {_seed(Path(corpus))} seeds, {_target} executions", flush=True)
        atheris.Setup(
            [
                sys.argv[0],
                f"-runs={_target}",
                "-timeout=10",
                f"-max_len={MAX_LEN}",
                "-rss_limit_mb=4096",
                f"-artifact_prefix={ARTIFACTS}/",
                "-print_final_stats=1",
                corpus,
            ],
            _one,
        )
        atheris.Fuzz()


if __name__ == "__main__":
    main()
