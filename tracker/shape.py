"""Reading a service's JSON answer without taking an odd shape for "no data".

A plugin that reads `body.get("data") or []` turns `{"data": "not a list"}`
into zero rows, and the sync then moves the account's cursor past days it
never read. With these helpers every shape a plugin relies on is checked
where it is read: an answer the plugin cannot read raises
`UnexpectedResponse`, which fails the account and leaves its cursor where it
was. Absent (or null) stays "nothing there"; present with another type is
never read as absent.

    answer = Endpoint.of("Graph", response.url)
    body = answer.object(answer.json(response))
    for entry in answer.objects(body, "data", required=True): ...

The messages name the service, the endpoint's path (never its query, where
some APIs carry tokens) and what was wrong, in one line.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from tracker.errors import UnexpectedResponse

__all__ = ["Endpoint", "UnexpectedResponse", "describe", "expect_list", "expect_object", "read_json"]


def describe(value: Any) -> str:
    """What a JSON value is, in the words a message uses."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _under(key: str) -> str:
    return f'under "{key}"'


@dataclass(frozen=True)
class Endpoint:
    """Which service answered on which path: what an unreadable answer is reported against."""

    service: str
    path: str = ""

    @classmethod
    def of(cls, service: str, url: str | None) -> Endpoint:
        """The path of `url` only: its query and userinfo may hold credentials."""
        try:
            path = urlsplit(url or "").path
        except ValueError:
            path = ""
        return cls(service, path)

    def _answered(self) -> str:
        return f"{self.service} answered {self.path}" if self.path else f"{self.service} answered"

    def unreadable(self, problem: str) -> UnexpectedResponse:
        """The error for an answer that is JSON but not in the shape the plugin reads."""
        return UnexpectedResponse(f"{self._answered()} in a shape tracker cannot read: {problem}")

    def json(self, response: requests.Response) -> Any:
        """The parsed body; an HTML error page or an empty body is named as such, never parsed as data."""
        try:
            return response.json()
        except ValueError:  # requests' JSONDecodeError is one
            kind = response.headers.get("Content-Type", "").split(";")[0].strip() or "no content type"
            what = "an empty body" if not response.content else "something that is not JSON"
            raise UnexpectedResponse(f"{self._answered()} with {what} (HTTP {response.status_code}, {kind})") from None

    def object(self, value: Any, where: str = "as the answer") -> dict[str, Any]:
        if isinstance(value, dict):
            return value
        raise self.unreadable(f"expected an object {where}, got {describe(value)}")

    def get_object(self, body: Mapping[str, Any], key: str, *, required: bool = False) -> dict[str, Any] | None:
        """`body[key]` as an object; None when absent or null (unless required)."""
        value = body.get(key)
        if value is None and not required:
            return None
        return self.object(value, _under(key))

    def nested(self, body: Mapping[str, Any], *keys: str) -> dict[str, Any] | None:
        """The object at body[k1][k2]...; None once a level is absent or null, an error if one is no object."""
        current: Mapping[str, Any] | None = body
        for key in keys:
            current = self.get_object(current, key) if current is not None else None
        return dict(current) if current is not None else None

    def array(self, value: Any, where: str = "as the answer") -> list[Any]:
        """`value` itself, when it is a list (an answer that is a list of posts)."""
        if isinstance(value, list):
            return value
        raise self.unreadable(f"expected a list {where}, got {describe(value)}")

    def get_list(self, body: Mapping[str, Any], key: str, *, required: bool = False) -> list[Any]:
        """`body[key]` as a list; [] when absent or null, unless `required` (then absent is an error too)."""
        value = body.get(key)
        if value is None and not required:
            return []
        if isinstance(value, list):
            return value
        found = "nothing" if key not in body else describe(value)
        raise self.unreadable(f"expected a list {_under(key)}, got {found}")

    def objects(self, body: Mapping[str, Any], key: str, *, required: bool = False) -> list[dict[str, Any]]:
        """`body[key]` as a list of objects (rows, entries, posts)."""
        return self.each_object(self.get_list(body, key, required=required), _under(key))

    def each_object(self, items: list[Any], where: str = "in the list") -> list[dict[str, Any]]:
        for item in items:
            if not isinstance(item, dict):
                raise self.unreadable(f"expected objects {where}, got {describe(item)}")
        return items

    def each_text(self, items: list[Any], where: str = "in the list") -> list[str]:
        for item in items:
            if not isinstance(item, str):
                raise self.unreadable(f"expected text {where}, got {describe(item)}")
        return items

    def text(self, body: Mapping[str, Any], key: str) -> str:
        """A required text field (an id, a timestamp)."""
        value = self.get_text(body, key)
        if value:
            return value
        raise self.unreadable(f"expected text {_under(key)}, got {'nothing' if key not in body else 'empty text'}")

    def get_text(self, body: Mapping[str, Any], key: str) -> str | None:
        """`body[key]` as text; None when absent or null."""
        value = body.get(key)
        if value is None or isinstance(value, str):
            return value
        raise self.unreadable(f"expected text {_under(key)}, got {describe(value)}")

    def number(self, value: Any, where: str) -> float:
        """A finite number, given as a JSON number or as its text (GA4 writes "12")."""
        if not isinstance(value, bool):
            try:
                number = float(value)
            except (TypeError, ValueError, OverflowError):  # an integer of 400 digits has no float
                pass
            else:
                if math.isfinite(number):
                    return number
        raise self.unreadable(f"expected a number {where}, got {describe(value)} {str(value)[:20]!r}")


def read_json(response: requests.Response, *, service: str) -> Any:
    """The parsed body of `response`, or UnexpectedResponse naming the service, the path and what came instead."""
    return Endpoint.of(service, response.url).json(response)


def expect_object(value: Any, *, service: str, endpoint: str = "", where: str = "as the answer") -> dict[str, Any]:
    """`value` itself, when it is an object; UnexpectedResponse otherwise."""
    return Endpoint(service, endpoint).object(value, where)


def expect_list(
    body: Mapping[str, Any], key: str, *, service: str, endpoint: str = "", required: bool = False
) -> list[Any]:
    """`body[key]` when it is a list; [] when absent or null and not `required`; UnexpectedResponse otherwise."""
    return Endpoint(service, endpoint).get_list(body, key, required=required)
