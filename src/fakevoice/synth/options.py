"""What a benchmark build is asked for: its size, seed, generators and speakers, and where
it caches (the options of ``make-data``), and what a build returns."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from fakevoice.cachekey import cache_root
from fakevoice.synth import segments as seg

FORMAT_VERSION = 2


@dataclass(frozen=True)
class Size:
    train: int
    test: int
    unlabeled: int
    real_pool: tuple[int, int]  # segments for (train, evaluation)
    fake_pool: tuple[int, int]
    rooms: int


SIZES = {
    "tiny": Size(160, 100, 40, (120, 90), (120, 90), 4),
    "small": Size(4000, 2000, 500, (1500, 900), (900, 600), 16),
    "full": Size(55438, 50000, 1264, (8000, 5000), (8000, 5000), 48),
}


@dataclass(frozen=True)
class BuildOptions:
    out: Path
    size: str = "small"
    seed: int = 0
    heldout_generators: tuple[str, ...] | None = None  # None: the defaults that are available
    heldout_speakers: tuple[str, ...] | None = None  # None: chosen from the seed
    generators: tuple[str, ...] | None = None  # None: every available generator
    sources: tuple[str, ...] | None = None  # None: every real source
    workers: int = 2
    cache_dir: Path = field(default_factory=lambda: default_cache_dir())
    force: bool = False
    progress: bool = True
    audit: bool = True

    def identity(self) -> dict[str, Any]:
        """What determines the content (not where or how fast it is built)."""
        return {
            "format": FORMAT_VERSION,
            "prep": seg.PREP_VERSION,
            "size": self.size,
            "seed": self.seed,
            "heldout_generators": self.heldout_generators,
            "heldout_speakers": self.heldout_speakers,
            "generators": self.generators,
            "sources": self.sources,
        }


def default_cache_dir() -> Path:
    return cache_root("synth")


@dataclass
class BuildResult:
    out: Path
    counts: dict[str, int]
    seconds: float
    audit: dict[str, Any] | None
    skipped: bool = False


def options_dict(opts: BuildOptions) -> dict[str, Any]:
    d = asdict(replace(opts))
    d["out"] = str(opts.out)
    d["cache_dir"] = str(opts.cache_dir)
    return d
