"""The step graph: order, cycles, ancestors and descendants (stdlib ``graphlib``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from graphlib import CycleError, TopologicalSorter


def cycle(needs: Mapping[str, Sequence[str]]) -> list[str] | None:
    """A cycle as ``[a, b, ..., a]`` (each needs the next), or None."""
    try:
        TopologicalSorter(needs).prepare()
    except CycleError as exc:
        found = list(exc.args[1])  # graphlib's: each node is a predecessor of the next
        return list(reversed(found))
    return None


def order(needs: Mapping[str, Sequence[str]]) -> list[str]:
    """Steps with every step before the ones that need it (ties in definition order)."""
    done: list[str] = []
    left = list(needs)
    while left:
        ready = [s for s in left if all(n in done for n in needs[s])]
        if not ready:
            raise ValueError("the graph has a cycle")
        done += ready
        left = [s for s in left if s not in ready]
    return done


def ancestors(needs: Mapping[str, Sequence[str]], step: str) -> set[str]:
    """Every step ``step`` depends on, directly or not."""
    seen: set[str] = set()
    todo = list(needs.get(step, ()))
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo += needs.get(current, ())
    return seen


def descendants(needs: Mapping[str, Sequence[str]], step: str) -> set[str]:
    """Every step that depends on ``step``, directly or not."""
    return {s for s in needs if step in ancestors(needs, s)}
