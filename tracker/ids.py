"""Ids of order records: a real order number, or a content id made from the row when the export has none.

The report needs to tell the two apart without importing the plugin API: an order number held by two
accounts is one order counted twice, while two content ids say nothing across accounts (a shop export and a
market-stall sheet can each hold a sale of the same day and source).
"""

from __future__ import annotations

import hashlib

CONTENT_ID_PREFIX = "row-"


def content_id(*parts: str) -> str:
    """An id for a record without an order number: what identifies the row within its own account's exports."""
    return CONTENT_ID_PREFIX + hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def is_order_number(record_id: str) -> bool:
    """True for an id that names the same order in every source that holds it."""
    return not record_id.startswith(CONTENT_ID_PREFIX)
