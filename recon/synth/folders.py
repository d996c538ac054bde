"""Where the generators may write: a new or empty folder, or, with `force`, one they wrote before.

`recon generate` never overwrites a file nobody asked it to: a folder that is not empty is
refused (exit 2) unless `force`. With `force`, the logs folder first loses the log files its
previous `manifest.json` lists (an earlier generate's days, so no stale day is left behind to be
ingested beside the new ones); the vendor folder keeps everything but the files of the month
being written, which are replaced. Nothing else in either folder is touched.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from recon.core.errors import BadInputError

# The names `generate` gives its log files: events-<day>[-part<N>][-b<NNN>].<format>.
_GENERATED_LOG = re.compile(r"^events-\d{4}-\d{2}-\d{2}(-part\d+)?(-b\d+)?\.(csv|jsonl|parquet)$")


def claim_folder(folder: Path, force: bool, what: str, option: str) -> None:
    """Refuse `folder` if it is a file, or holds anything and `force` is off.

    `what` names the folder in the message ("log", "vendor"), `option` the CLI argument.
    """
    if folder.exists() and not folder.is_dir():
        raise BadInputError(
            f"{what} folder {folder} ({option}) is a file, not a folder",
            hint="name a new or empty folder",
        )
    entries = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
    if entries and not force:
        raise BadInputError(
            f"{what} folder {folder} ({option}) is not empty ({len(entries):,} entries, "
            f"e.g. {entries[0]}); recon generate does not overwrite files",
            hint="name a new or empty folder, or pass --force to replace what recon generate "
            "wrote there before (other files are kept)",
        )


def previous_logs(folder: Path) -> list[Path]:
    """The log files an earlier `generate` wrote into `folder`, as its `manifest.json` lists them.

    Only names `generate` itself gives are taken, so a foreign or edited manifest can never
    point outside the folder or at someone else's file.
    """
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return []
    names = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(names, list) or "spec" not in manifest:
        return []
    return [
        folder / name
        for name in names
        if isinstance(name, str) and _GENERATED_LOG.fullmatch(name) and (folder / name).is_file()
    ]
