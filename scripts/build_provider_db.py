"""Build ``src/inboxlink/discovery/data/providers.json`` from Thunderbird's ISP database.

Usage: ``python scripts/build_provider_db.py [ISPDB_DIR]`` (default ``../shared/ispdb`` next to
the repository). Each provider is named after its file (several files share an ``id``); output is
sorted and stable, so re-running on the same snapshot changes nothing. The MPL-2.0 licence of the
source is copied beside the output.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
from pathlib import Path

from inboxlink.discovery.clientconfig import ProviderConfig, parse_client_config

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "src" / "inboxlink" / "discovery" / "data"
DEFAULT_SOURCE = REPO.parent / "shared" / "ispdb"


def load(source: Path) -> list[ProviderConfig]:
    """Providers from every ``*.xml`` file that offers IMAP or SMTP, sorted by id."""
    providers = []
    for path in sorted(source.glob("*.xml")):
        for provider in parse_client_config(path.read_bytes()):
            if provider.imap or provider.smtp:
                providers.append(dataclasses.replace(provider, id=path.stem))
    return sorted(providers, key=lambda provider: provider.id)


def render(providers: list[ProviderConfig]) -> str:
    """Compact JSON with one provider per line, so a database update reads well in a diff."""
    lines = [json.dumps(p.to_json(), sort_keys=True, ensure_ascii=False) for p in providers]
    return '{"providers": [\n' + ",\n".join(lines) + "\n]}\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--output", type=Path, default=DATA / "providers.json")
    args = parser.parse_args()
    providers = load(args.source)
    args.output.write_text(render(providers), encoding="utf-8")
    licence = args.source / "LICENSE.MPL-2.0"
    if licence.exists():
        shutil.copyfile(licence, args.output.parent / "LICENSE.MPL-2.0")
    print(f"wrote {len(providers)} providers to {args.output}")


if __name__ == "__main__":
    main()
