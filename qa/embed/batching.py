"""The order texts are embedded in: batches of similar length (padding is what costs time),
visited so that every stretch of a build costs the same on average (so a progress estimate
holds). The vectors do not depend on it."""

from __future__ import annotations

from collections.abc import Sequence


def length_sorted_batches(texts: Sequence[str], batch_size: int) -> list[list[int]]:
    """Group indices of similar length together: padding to the longest text in a batch is
    what costs time, so sorted batches embed markedly faster than corpus order. The batches
    come in `spread_order`."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    return [batches[k] for k in spread_order(len(batches))]


_GOLDEN = (5 ** 0.5 - 1) / 2


def spread_order(n: int) -> list[int]:
    """0..n-1 in an order whose every prefix samples the whole range evenly (sorted by the
    fractional part of k times the golden ratio). Length-sorted batches taken shortest first
    make the first chunks several times cheaper than the last, so a progress estimate made
    from the rate so far climbs all through a build; visited in this order, early and late
    batches cost the same on average. Each batch is embedded alone: the vectors do not change.
    """
    return sorted(range(n), key=lambda k: (k * _GOLDEN) % 1.0)
