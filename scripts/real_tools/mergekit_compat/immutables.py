"""Stand-in for the `immutables` package (mergekit imports `immutables.Map` in mergekit/common.py), used by
scripts/check-real-tools.sh only when `import immutables` fails (it is not in this machine's package index).

mergekit uses Map as a hashable, immutable mapping built from a dict (ImmutableMap's pydantic validator, __hash__,
items/keys/values/get); frozendict (in the index) is one. The real package is a HAMT: same behaviour for this use.
"""
from frozendict import frozendict


class Map(frozendict):
    """immutables.Map: hashable, read-only mapping; Map[K, V] works in annotations."""

    def __class_getitem__(cls, item):
        return cls

    def __repr__(self):
        return f"immutables.Map({dict(self)!r})"
