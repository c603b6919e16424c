"""DynamoDB's write billing, measured on the local stack's writes (stdlib only).

moto does not report consumed capacity, so the AWS proxy meters every UpdateItem the functions make the way
DynamoDB bills it (DynamoDB guide, "Read/write capacity mode" and "Global secondary indexes"):

* a write consumes one write unit per started KB of the larger of the item's size before and after it; a
  conditional write that is refused still consumes the units of the item as it is;
* each global secondary index is written when the write changes the index's keys or a projected attribute: one
  write (an insert, an update, or a delete) of the index entry's size, two when the index key itself changes.

Item size follows DynamoDB's rules: attribute names and string values in UTF-8 bytes, numbers about one byte per two
significant digits plus one, lists and maps 3 bytes plus one per element, booleans and nulls 1 byte.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from typing import Any

KB = 1024


def value_size(value: dict[str, Any]) -> int:
    """Bytes of one typed DynamoDB value (``{"S": "..."}``, ``{"N": "..."}``, ``{"L": [...]}``, ...)."""
    (kind, v), = value.items()
    if kind == "S":
        return len(v.encode())
    if kind == "N":
        digits = v.lstrip("-").replace(".", "").lstrip("0").rstrip("0") or "0"
        return (len(digits) + 1) // 2 + 1
    if kind == "B":
        return len(v) * 3 // 4 if isinstance(v, str) else len(v)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "L":
        return 3 + sum(1 + value_size(e) for e in v)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + value_size(e) for k, e in v.items())
    if kind in ("SS", "NS", "BS"):
        return sum(value_size({kind[0]: e}) for e in v)
    raise ValueError(f"unknown DynamoDB type {kind}")


def item_size(item: dict[str, Any] | None) -> int:
    """Bytes of a typed item: every attribute's name and value."""
    return sum(len(k.encode()) + value_size(v) for k, v in (item or {}).items())


def units(size: int) -> int:
    """Write units of a write of an item of `size` bytes: one per started KB, at least one."""
    return max(1, math.ceil(size / KB))


@dataclass(frozen=True)
class Index:
    """A global secondary index: its key attributes and what it projects (None: ALL)."""

    hash_key: str
    range_key: str | None
    projected: tuple[str, ...] | None
    table_key: str

    def entry(self, item: dict[str, Any] | None) -> dict[str, Any] | None:
        """The index entry of `item` (typed), or None when the item has no index key."""
        if not item or self.hash_key not in item or (self.range_key and self.range_key not in item):
            return None
        if self.projected is None:
            return dict(item)
        keep = {self.hash_key, self.table_key, *(self.projected or ())}
        if self.range_key:
            keep.add(self.range_key)
        return {k: v for k, v in item.items() if k in keep}

    def keys(self, entry: dict[str, Any]) -> tuple[Any, ...]:
        return (str(entry.get(self.hash_key)), str(entry.get(self.range_key)) if self.range_key else None)


@dataclass
class WriteMeter:
    """Meters a table's writes and its indexes' writes, item by item."""

    table: str
    key: str
    indexes: list[Index] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Forgets every item and zeroes the counts."""
        with getattr(self, "_lock", threading.Lock()):
            self.items: dict[str, dict[str, Any] | None] = {}
            self.writes = 0
            self.refused = 0
            self.table_units = 0
            self.index_writes = 0
            self.index_units = 0

    def write(self, key: str, after: dict[str, Any] | None, accepted: bool) -> None:
        """One UpdateItem of the item `key`: `after` is the item once the call is done (as stored, typed);
        `accepted` False for a refused conditional write."""
        with self._lock:
            before = self.items.get(key)
            self.writes += 1
            if not accepted:
                self.refused += 1
                self.table_units += units(item_size(before))
                return
            self.table_units += units(max(item_size(before), item_size(after)))
            for index in self.indexes:
                old, new = index.entry(before), index.entry(after)
                if old == new:
                    continue
                if old is not None and new is not None and index.keys(old) != index.keys(new):
                    self.index_writes += 2
                    self.index_units += units(item_size(old)) + units(item_size(new))
                else:
                    self.index_writes += 1
                    self.index_units += units(max(item_size(old), item_size(new)))
            self.items[key] = after

    def stored_bytes(self) -> int:
        """What the table and its indexes store now, as DynamoDB bills storage: each item's (and each index
        entry's) size plus 100 bytes of overhead."""
        with self._lock:
            total = 0
            for item in self.items.values():
                if item is None:
                    continue
                total += item_size(item) + 100
                for index in self.indexes:
                    entry = index.entry(item)
                    if entry is not None:
                        total += item_size(entry) + 100
            return total

    def stats(self) -> dict[str, int]:
        """Writes, refused writes, table write units, index writes and index write units so far."""
        with self._lock:
            return {"writes": self.writes, "refused": self.refused, "tableWriteUnits": self.table_units,
                    "indexWrites": self.index_writes, "indexWriteUnits": self.index_units}
