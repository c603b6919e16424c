"""moto's server, as the local stack runs it: `python -m moto.server`, with two speed fixes.

* moto's request dispatcher lists and stats moto's ~200 module folders on every request, holding a lock that every
  request waits for: the list is read once here.
* moto (5.2.5) builds a queue's whole attribute map, its three approximate message counts included, on every message
  it sends or receives and on every GetQueueAttributes, even for one other attribute; each count scans every message
  of the queue. So each operation costs time in proportion to the queue's depth: once a backlog of a few thousand
  messages builds (the figures run), sends and receives slow down until the stack cannot catch up at all. Here the
  counts are computed only when they are read.

Every other behaviour is moto's own (tests/local/test_moto_server.py).

    python local/moto_server.py -H 127.0.0.1 -p 5000      # the same arguments as `python -m moto.server`
"""

from __future__ import annotations

from typing import Any

from moto import backends
from moto.core.utils import camelcase_to_underscores
from moto.sqs import models

COUNTS = {"ApproximateNumberOfMessages": "approximate_number_of_messages",
          "ApproximateNumberOfMessagesNotVisible": "approximate_number_of_messages_not_visible",
          "ApproximateNumberOfMessagesDelayed": "approximate_number_of_messages_delayed"}


class LazyCounts(dict):
    """A queue's attributes whose approximate counts are computed on first read."""

    def __init__(self, base: dict[str, Any], queue: Any):
        super().__init__(base)
        self._queue = queue
        self._counted = False

    def _count(self) -> None:
        if not self._counted:
            self._counted = True
            for name, prop in COUNTS.items():
                dict.__setitem__(self, name, getattr(self._queue, prop))

    def __getitem__(self, key: str) -> Any:
        if key in COUNTS:
            self._count()
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        if key in COUNTS:
            self._count()
        return super().get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in COUNTS or super().__contains__(key)

    def __iter__(self):  # type: ignore[no-untyped-def]
        self._count()
        return super().__iter__()

    def __len__(self) -> int:
        self._count()
        return super().__len__()

    def keys(self):  # type: ignore[no-untyped-def]
        self._count()
        return super().keys()

    def items(self):  # type: ignore[no-untyped-def]
        self._count()
        return super().items()

    def values(self):  # type: ignore[no-untyped-def]
        self._count()
        return super().values()

    def copy(self) -> dict[str, Any]:
        self._count()
        return dict(self)


def attributes(self: Any) -> dict[str, Any]:
    """moto's `Queue.attributes`, the counts left for when they are read."""
    result: dict[str, Any] = {}
    names = [a for a in self.BASE_ATTRIBUTES if a not in COUNTS]
    if self.fifo_queue:
        names += self.FIFO_ATTRIBUTES
    if self.kms_master_key_id:
        names += self.KMS_ATTRIBUTES
    for attribute in names:
        result[attribute] = getattr(self, camelcase_to_underscores(attribute))
    if self.policy:
        result["Policy"] = self.policy
    if self.redrive_policy:
        result["RedrivePolicy"] = models.json.dumps(self.redrive_policy)
    for key, value in result.items():
        if isinstance(value, bool):
            result[key] = str(value).lower()
    return LazyCounts(result, self)


models.Queue.attributes = property(attributes)  # type: ignore[assignment]
_MODULES = tuple(backends.list_of_moto_modules())
backends.list_of_moto_modules = lambda: _MODULES  # type: ignore[assignment]

if __name__ == "__main__":
    from moto.server import main

    main()
