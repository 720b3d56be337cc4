"""The ``--blocklist`` content filter, and the scanner that cuts generated text at stops and blocked words.

A prompt that contains a listed word (case-insensitive, anywhere in the text) is refused with the
documented 400 ``content_filter`` body. Generated text that would contain one ends before the word with
``finish_reason: "content_filter"``. :class:`TextScanner` holds back the end of the text while it could
still become a stop sequence or a blocked word, so nothing filtered ever reaches a stream.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


class Blocklist:
    def __init__(self, words: Iterable[str]) -> None:
        self.words = tuple(sorted({w.strip() for w in words if w.strip()}))
        self._pattern = re.compile("|".join(re.escape(w) for w in self.words), re.IGNORECASE) if self.words else None

    def __bool__(self) -> bool:
        return bool(self.words)

    def contains(self, text: str) -> bool:
        return self._pattern is not None and self._pattern.search(text) is not None


@dataclass(frozen=True)
class _Pattern:
    text: str
    reason: str
    fold: bool

    def prefix_matches(self, tail: str, k: int) -> bool:
        a, b = tail[-k:], self.text[:k]
        return a.lower() == b.lower() if self.fold else a == b


class TextScanner:
    """Feed generated text piece by piece; get back what is safe to show, and why generation must stop.

    >>> s = TextScanner(stop=["\\n"], blocked=["banana"])
    >>> s.feed("I like ba")
    ('I like ', None)
    >>> s.feed("nanas")
    ('', 'content_filter')
    >>> s.text
    'I like '
    """

    def __init__(self, stop: Sequence[str] = (), blocked: Sequence[str] = ()) -> None:
        self._patterns = [_Pattern(s, "stop", False) for s in stop if s] + [
            _Pattern(w, "content_filter", True) for w in blocked if w
        ]
        self._regexes = [
            (re.compile(re.escape(p.text), re.IGNORECASE if p.fold else 0), p.reason) for p in self._patterns
        ]
        self._all = ""
        self._emitted = 0
        self.finished: str | None = None

    @property
    def text(self) -> str:
        """The text released so far (after a stop: the final text)."""
        return self._all[: self._emitted]

    def feed(self, piece: str) -> tuple[str, str | None]:
        if self.finished is not None:
            return "", self.finished
        self._all += piece
        start = self._emitted
        best: tuple[int, str] | None = None
        for regex, reason in self._regexes:
            m = regex.search(self._all, start)
            if m is not None and (best is None or m.start() < best[0]):
                best = (m.start(), reason)
        if best is not None:
            cut, reason = best
            out = self._all[start:cut]
            self._all = self._all[:cut]
            self._emitted = cut
            self.finished = reason
            return out, reason
        hold = 0
        tail = self._all[start:]
        for p in self._patterns:
            for k in range(min(len(p.text) - 1, len(tail)), hold, -1):
                if p.prefix_matches(tail, k):
                    hold = k
                    break
        end = len(self._all) - hold
        out = self._all[start:end]
        self._emitted = end
        return out, None

    def flush(self) -> str:
        """At the end of generation: release what was held back (it never became a match)."""
        if self.finished is not None:
            return ""
        out = self._all[self._emitted :]
        self._emitted = len(self._all)
        return out
