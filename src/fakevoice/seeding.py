"""Every random draw goes through explicit generators derived from one seed.

Deriving child generators from (seed, key...) rather than from call order keeps
results identical whatever the number of worker processes or the order work runs.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # torch costs 1.5 s and 150 MB: the data builder never needs it
    import torch


def _key_ints(keys: tuple[object, ...]) -> list[int]:
    out = []
    for k in keys:
        if isinstance(k, int) and k >= 0:
            out.append(k)
        else:
            digest = hashlib.blake2b(str(k).encode(), digest_size=8).digest()
            out.append(int.from_bytes(digest, "little"))
    return out


def seed_sequence(seed: int, *keys: object) -> np.random.SeedSequence:
    return np.random.SeedSequence(entropy=int(seed), spawn_key=tuple(_key_ints(keys)))


def rng(seed: int, *keys: object) -> np.random.Generator:
    """A numpy Generator for (seed, keys): same inputs, same stream, on any machine."""
    return np.random.default_rng(seed_sequence(seed, *keys))


def derive_seed(seed: int, *keys: object) -> int:
    """A 63-bit integer seed for libraries that want an int (torch, sklearn)."""
    return int(seed_sequence(seed, *keys).generate_state(1, np.uint64)[0] >> np.uint64(1))


def torch_generator(seed: int, *keys: object) -> torch.Generator:
    import torch

    g = torch.Generator()
    g.manual_seed(derive_seed(seed, *keys))
    return g
