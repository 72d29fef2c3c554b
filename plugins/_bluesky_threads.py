"""Bluesky reply threads as customer care facts: who replied to the account, and when the account answered.

`app.bsky.feed.getPostThread` answers a tree: a `threadViewPost` per post,
its `replies` down to the depth asked (the AppView may cap it lower, and then
a post that has replies comes without a `replies` key: the cut is read again
from that post), and placeholders the lexicon allows in `replies`
(`notFoundPost`, `blockedPost`). This module keeps what the tree says about
care and nothing else: post ids (AT URIs), author DIDs and times, never text,
names or handles, and turns a fully read thread into `CareItem`s.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tracker.plugin import CareItem, Channel, Endpoint

VIEW = "app.bsky.feed.defs#threadViewPost"
NOT_FOUND = "app.bsky.feed.defs#notFoundPost"
BLOCKED = "app.bsky.feed.defs#blockedPost"
TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"  # base32-sortable, as AT Protocol record keys use it
TID_LENGTH = 13
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
FIRST_TID_YEAR = 2022  # Bluesky's first posts; an earlier "TID" is some other record key


@dataclass(frozen=True, slots=True)
class Node:
    """One post of a thread: who wrote it and when; `gone` for a placeholder the AppView served instead."""

    uri: str
    author: str
    at: datetime | None
    parent: str | None
    gone: bool = False


@dataclass
class Thread:
    """A thread as read so far. `nodes` keeps reading order, so a post always comes before its replies."""

    nodes: dict[str, Node] = field(default_factory=dict)
    children: dict[str, list[str]] = field(default_factory=dict)
    hidden: set[str] = field(default_factory=set)  # the root author's threadgate `hiddenReplies`
    unread: list[str] = field(default_factory=list)  # posts whose replies the depth limit cut off
    stuck: set[str] = field(default_factory=set)  # cut posts a read from them did not open either


def tid_time(uri: str) -> datetime | None:
    """When a record was made, from its record key if that is a TID (53 bits of microseconds since 1970).

    Posts made by Bluesky clients have TID keys; a placeholder for a deleted or blocked reply carries only
    its URI, and this is the one time it tells. None for any other key.
    """
    rkey = uri.rsplit("/", 1)[-1]
    if len(rkey) != TID_LENGTH or any(c not in TID_ALPHABET for c in rkey) or rkey[0] not in TID_ALPHABET[:16]:
        return None
    value = 0
    for char in rkey:
        value = value * 32 + TID_ALPHABET.index(char)
    at = EPOCH + timedelta(microseconds=value >> 10)
    return at if at.year >= FIRST_TID_YEAR else None


def did_of(uri: str) -> str:
    """The repository (author) DID of an at:// URI."""
    return uri.removeprefix("at://").split("/", 1)[0]


def add_answer(
    thread: Thread, answer: Endpoint, body: dict[str, Any], anchor: str, when: Callable[[dict[str, Any]], datetime]
) -> None:
    """Add one getPostThread answer, read from `anchor`, to the thread.

    The anchor is the thread's first post or a cut post read again; either way only what lies below it is
    new. A cut post that comes back without replies again is not read a third time (`stuck`).
    """
    gate = answer.get_object(body, "threadgate")
    record = answer.get_object(gate, "record") if gate else None
    if record:
        thread.hidden.update(answer.each_text(answer.get_list(record, "hiddenReplies"), '"hiddenReplies"'))
    top = answer.get_object(body, "thread", required=True) or {}
    if anchor in thread.unread:
        thread.unread.remove(anchor)
    again = anchor in thread.nodes
    stack: list[tuple[dict[str, Any], str | None]] = [(top, thread.nodes[anchor].parent if again else None)]
    while stack:
        view, parent = stack.pop()
        node, replies = _node(answer, view, parent, when)
        if node is None:
            continue
        if node.uri in thread.nodes and node.uri != anchor:
            continue  # the same post reached twice: its replies are read already
        if node.uri not in thread.nodes:
            thread.nodes[node.uri] = node
            if parent is not None:
                thread.children.setdefault(parent, []).append(node.uri)
        if replies is None:
            if node.uri == anchor and again:
                thread.stuck.add(anchor)
            elif not node.gone and _has_replies(view):
                thread.unread.append(node.uri)
            continue
        stack.extend((reply, node.uri) for reply in reversed(answer.each_object(replies, '"replies"')))


def _node(
    answer: Endpoint, view: dict[str, Any], parent: str | None, when: Callable[[dict[str, Any]], datetime]
) -> tuple[Node | None, list[Any] | None]:
    """The node a thread entry stands for and its replies (None when the AppView cut them off).

    The lexicon's unions are open: an entry of a type this plugin does not know is skipped, not failed on.
    """
    kind = answer.get_text(view, "$type")
    if kind == NOT_FOUND or (kind is None and view.get("notFound") is True):
        uri = answer.text(view, "uri")
        return Node(uri, did_of(uri), tid_time(uri), parent, gone=True), None
    if kind == BLOCKED or (kind is None and view.get("blocked") is True):
        uri = answer.text(view, "uri")
        author = answer.get_object(view, "author") or {}
        return Node(uri, answer.get_text(author, "did") or did_of(uri), tid_time(uri), parent, gone=True), None
    if kind not in (VIEW, None):
        return None, None
    post = answer.get_object(view, "post", required=True) or {}
    author = answer.get_object(post, "author", required=True) or {}
    uri = answer.text(post, "uri")
    answer.get_text(answer.get_object(post, "record") or {}, "createdAt")
    answer.get_text(post, "indexedAt")
    try:
        at = when(post)
    except (TypeError, ValueError):
        raise answer.unreadable('expected times under "record.createdAt" and "indexedAt" of a reply') from None
    replies = answer.get_list(view, "replies") if view.get("replies") is not None else None
    return Node(uri, answer.text(author, "did"), at, parent), replies


def _has_replies(view: dict[str, Any]) -> bool:
    """Whether a post the depth limit cut off may have replies: its `replyCount`, or unknown if absent."""
    count = (view.get("post") or {}).get("replyCount")
    return not (isinstance(count, int) and not isinstance(count, bool) and count <= 0)


@dataclass(frozen=True, slots=True)
class Care:
    """What one thread gave: the care items, and how many replies were left out because their thread was not
    read to the end (the run's thread reads ran out): an answer may hide in the unread part."""

    items: list[CareItem]
    unfinished: int


def care_items(thread: Thread, platform: str, did: str) -> Care:
    """One item per reply by someone else: when it came and when the account first replied below it.

    The account's own posts are left out (they are not inbound). A reply the thread's owner hid, anything
    below it, and a placeholder for a deleted or blocked reply are yielded `deleted` (kept, not counted); a
    placeholder whose key tells no time is skipped. A reply written (by the client's clock) before the post
    it answers counts as answered at once: a reply cannot come first.
    """
    first_own, complete = _below(thread, did)
    hidden_under: dict[str, bool] = {}
    items: list[CareItem] = []
    unfinished = 0
    for uri, node in thread.nodes.items():
        hidden = uri in thread.hidden or (node.parent is not None and hidden_under.get(node.parent, False))
        hidden_under[uri] = hidden
        if node.parent is None or node.author == did or node.at is None:
            continue
        if not complete[uri] and not (hidden or node.gone):
            unfinished += 1
            continue
        reply = first_own[uri]
        answered = None if reply is None or node.gone else max(reply, node.at)
        items.append(CareItem(platform, Channel.REPLY, uri, node.at, answered, deleted=hidden or node.gone))
    return Care(items, unfinished)


def _below(thread: Thread, did: str) -> tuple[dict[str, datetime | None], dict[str, bool]]:
    """For every post: the account's earliest post anywhere below it, and whether all below it was read."""
    first_own: dict[str, datetime | None] = {}
    complete: dict[str, bool] = {}
    for uri in reversed(thread.nodes):
        best: datetime | None = None
        done = uri not in thread.unread and uri not in thread.stuck
        for child_uri in thread.children.get(uri, []):
            child = thread.nodes[child_uri]
            times = [first_own[child_uri]]
            if child.author == did and not child.gone:
                times.append(child.at)
            best = min((t for t in (best, *times) if t is not None), default=None)
            done = done and complete[child_uri]
        first_own[uri], complete[uri] = best, done
    return first_own, complete
