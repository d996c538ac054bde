"""Which engine computes USER usage: embedded (Polars in this process) or Apache Spark.

Both run the same kernel (`recon.reports.kernel.slice_usage`); only where it runs differs. The
choice comes from a call (`--engine`, `Recon(engine=...)`), else the home's recon.toml:

```toml
[engine]
engine = "spark"               # "embedded" (the default) or "spark"
spark_master = "spark://head:7077"
```
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from recon.core.errors import BadInputError

ENGINES: Final = ("embedded", "spark")
ENGINE_KEYS: Final = ("engine", "spark_master")
DEFAULT_SPARK_MASTER: Final = "local[*]"


def engine_name(value: object, where: str) -> str:
    """A checked engine name (`embedded` or `spark`, any case)."""
    name = str(value).strip().lower()
    if name not in ENGINES:
        raise BadInputError(
            f"{where}: unknown engine {value!r}", hint=f"choose one of {', '.join(ENGINES)}"
        )
    return name


def _master(value: object, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BadInputError(
            f"{where}: the Spark master must be a non-empty text",
            hint='write it like "local[*]" or "spark://host:7077"',
        )
    return value.strip()


@dataclass(frozen=True)
class EngineSettings:
    """The engine and, for Spark, the master URL; hashable, so it can key the usage cache."""

    name: str = "embedded"
    spark_master: str | None = None

    def chosen(
        self, name: str | None, master: str | None, master_variable: str | None
    ) -> EngineSettings:
        """The engine one call uses: its own choice, else these settings.

        The Spark master: the call's, else `RECON_SPARK_MASTER` (`master_variable`), else
        recon.toml's, else `local[*]`. The embedded engine carries no master.
        """
        engine = engine_name(name, "--engine") if name is not None else self.name
        if engine != "spark":
            return EngineSettings(engine)
        if master is not None:
            return EngineSettings(engine, _master(master, "--spark-master"))
        if master_variable is not None:
            return EngineSettings(engine, _master(master_variable, "RECON_SPARK_MASTER"))
        return EngineSettings(engine, self.spark_master or DEFAULT_SPARK_MASTER)


def engine_settings(table: dict[str, object]) -> EngineSettings:
    """The `[engine]` table of recon.toml (its keys already checked), as settings."""
    name = engine_name(table.get("engine", "embedded"), "recon.toml [engine] engine")
    master = table.get("spark_master")
    return EngineSettings(
        name, None if master is None else _master(master, "recon.toml [engine] spark_master")
    )
