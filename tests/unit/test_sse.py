"""Tests for the sans-IO SSE decoder (llama_azure._streaming.sse)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llama_azure._streaming.sse import MAX_LINE_BYTES, ServerSentEvent, SSEDecoder, SSEProtocolError

E = ServerSentEvent


def decode(*chunks: bytes) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    events: list[ServerSentEvent] = []
    for chunk in chunks:
        events.extend(decoder.feed(chunk))
    events.extend(decoder.flush())
    return events


def decode_bytewise(stream: bytes) -> list[ServerSentEvent]:
    return decode(*(stream[i : i + 1] for i in range(len(stream))))


# ---------------------------------------------------------------------------- line ends


@pytest.mark.parametrize("eol", [b"\n", b"\r\n", b"\r"])
def test_line_ends(eol: bytes) -> None:
    stream = b"data: a" + eol + eol + b"data: b" + eol + b"data: c" + eol + eol
    expected = [E("a"), E("b\nc")]
    assert decode(stream) == expected
    assert decode_bytewise(stream) == expected


def test_mixed_line_ends() -> None:
    stream = b"data: a\r\n\rdata: b\n\r\ndata: c\r\r"
    assert decode(stream) == [E("a"), E("b"), E("c")]
    assert decode_bytewise(stream) == [E("a"), E("b"), E("c")]


def test_crlf_split_across_chunks_is_one_line_end() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    # The LF completes the CRLF of the data line; it is NOT a blank line.
    assert decoder.feed(b"\n") == []
    assert decoder.feed(b"data: b\r") == []
    assert decoder.feed(b"\n\r") == [E("a\nb")]
    assert decoder.feed(b"\n") == []
    assert decoder.flush() == []


def test_cr_at_chunk_end_then_blank_line() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    # Next chunk starts with CR (not LF): that CR is a second line end, a blank line.
    assert decoder.feed(b"\rdata: b\r\n\r\n") == [E("a"), E("b")]


def test_lone_cr_then_data_in_next_chunk() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    assert decoder.feed(b"data: b\r") == []
    assert decoder.feed(b"\r") == [E("a\nb")]


def test_cr_is_not_data() -> None:
    # A bare CR in the middle of a line ends it (SSE rule), so "x" is a field with no colon.
    assert decode(b"data: a\rx\n\n") == [E("a")]


def test_crlf_blank_lines_dispatch() -> None:
    # Complaint 5: "\r\n" blank lines.
    stream = b'data: {"a": 1}\r\n\r\ndata: {"a": 2}\r\n\r\n'
    assert decode(stream) == [E('{"a": 1}'), E('{"a": 2}')]


# ---------------------------------------------------------------------------- fields


def test_comments_and_keep_alive_are_ignored() -> None:
    stream = b": keep-alive\n\n:\n: data: nope\ndata: x\n: in the middle\ndata: y\n\n: bye\n"
    assert decode(stream) == [E("x\ny")]


def test_data_with_and_without_space() -> None:
    assert decode(b"data:[DONE]\n\n") == [E("[DONE]")]
    assert decode(b"data: [DONE]\n\n") == [E("[DONE]")]
    # Only ONE space is stripped.
    assert decode(b"data:  two\n\n") == [E(" two")]
    assert decode(b"data:\tx\n\n") == [E("\tx")]
    # Trailing spaces are kept.
    assert decode(b"data: x  \n\n") == [E("x  ")]


def test_colons_in_value_are_kept() -> None:
    assert decode(b'data: {"a": "b:c"}\n\n') == [E('{"a": "b:c"}')]
    assert decode(b"event: a:b\ndata: x\n\n") == [E("x", event="a:b")]


def test_multi_line_data() -> None:
    assert decode(b"data: a\ndata:\ndata: c\n\n") == [E("a\n\nc")]
    assert decode(b"data: a\ndata\ndata: c\n\n") == [E("a\n\nc")]


def test_empty_data_event_is_dispatched() -> None:
    assert decode(b"data:\n\n") == [E("")]
    assert decode(b"data\n\n") == [E("")]
    assert decode(b"data: \n\n") == [E("")]
    assert decode(b"data:\ndata:\n\n") == [E("\n")]


def test_event_field() -> None:
    stream = b"event: error\ndata: {}\n\ndata: x\n\nevent:\ndata: y\n\nevent\ndata: z\n\n"
    assert decode(stream) == [E("{}", event="error"), E("x"), E("y"), E("z")]


def test_event_without_data_is_not_dispatched_and_does_not_leak() -> None:
    assert decode(b"event: ping\n\ndata: x\n\n") == [E("x")]


def test_id_field_persists_and_sets_last_event_id() -> None:
    decoder = SSEDecoder()
    assert decoder.last_event_id is None
    assert decoder.feed(b"id: 1\ndata: a\n\n") == [E("a", id="1")]
    assert decoder.last_event_id == "1"
    # The last event id persists across events (spec).
    assert decoder.feed(b"data: b\n\n") == [E("b", id="1")]
    assert decoder.feed(b"id: 2\n") == []
    assert decoder.last_event_id == "1"  # not dispatched yet
    assert decoder.feed(b"data: c\n\n") == [E("c", id="2")]
    assert decoder.last_event_id == "2"
    # An empty id resets it to the empty string.
    assert decoder.feed(b"id\ndata: d\n\n") == [E("d", id="")]
    assert decoder.last_event_id == ""


def test_id_containing_nul_is_ignored() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"id: 7\ndata: a\n\nid: 8\x009\ndata: b\n\n") == [E("a", id="7"), E("b", id="7")]
    assert decoder.last_event_id == "7"


def test_id_only_event_yields_nothing_but_is_recorded() -> None:
    # Complaint 5: events carrying only id: must not produce a (JSON-decoded) event.
    decoder = SSEDecoder()
    assert decoder.feed(b"id: 42\n\n") == []
    assert decoder.last_event_id == "42"
    assert decoder.feed(b"data: x\n\n") == [E("x", id="42")]


def test_retry_only_event_yields_nothing_but_is_recorded() -> None:
    decoder = SSEDecoder()
    assert decoder.retry is None
    assert decoder.feed(b"retry: 3000\n\n") == []
    assert decoder.retry == 3000
    # retry: is attached only to the event whose lines carried it.
    assert decoder.feed(b"data: x\nretry: 10\n\ndata: y\n\n") == [E("x", retry=10), E("y")]
    assert decoder.retry == 10


@pytest.mark.parametrize("value", [b"", b"abc", b"-1", b"1.5", b"1 ", b" 1", b"\xd9\xa3", b"1" * 65])
def test_invalid_retry_is_ignored(value: bytes) -> None:
    decoder = SSEDecoder()
    decoder.feed(b"retry: 5\n\n")
    assert decoder.feed(b"retry: " + value + b"\ndata: x\n\n") == [E("x")]
    assert decoder.retry == 5


def test_retry_without_space_and_zero() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"retry:0\ndata: x\n\n") == [E("x", retry=0)]
    assert decoder.retry == 0


def test_unknown_fields_and_case_sensitivity() -> None:
    stream = b"foo: bar\nData: no\nDATA: no\n data: no\nretry : 5\ndata: yes\n\n"
    assert decode(stream) == [E("yes")]


def test_all_fields_together() -> None:
    stream = b": hi\nevent: delta\nid: abc\nretry: 1500\ndata: {\ndata: }\n\n"
    assert decode(stream) == [E("{\n}", event="delta", id="abc", retry=1500)]


def test_anchor_stream_from_measurements() -> None:
    # The stream that made openai-python and azure-ai-inference raise (anchors.md).
    stream = (
        b": keep-alive\n\n"
        b"retry: 3000\n\n"
        b'data: {"choices": [{"delta": {"content": "Hi"}}]}\r\n\r\n'
        b"data: [DONE]\n\n"
    )
    expected = [E('{"choices": [{"delta": {"content": "Hi"}}]}'), E("[DONE]")]
    assert decode(stream) == expected
    assert decode_bytewise(stream) == expected


# ---------------------------------------------------------------------------- encoding


def test_bom_at_stream_start_is_dropped() -> None:
    assert decode(b"\xef\xbb\xbfdata: x\n\n") == [E("x")]
    assert decode_bytewise(b"\xef\xbb\xbfdata: x\n\n") == [E("x")]
    assert decode(b"\xef", b"\xbb", b"\xbfdata: x\n\n") == [E("x")]


def test_bom_only_dropped_once_and_only_at_start() -> None:
    # A second BOM makes the first line's field name "\ufeffdata": unknown, ignored.
    assert decode(b"\xef\xbb\xbf\xef\xbb\xbfdata: x\n\ndata: y\n\n") == [E("y")]
    assert decode(b"data: \xef\xbb\xbfx\n\n") == [E("\ufeffx")]
    assert decode(b"data: x\n\n\xef\xbb\xbfdata: y\n\n") == [E("x")]


def test_partial_bom_prefix_is_not_dropped() -> None:
    # b"\xef\xbb" followed by something else is not a BOM: decoded with replacement characters.
    assert decode(b"\xef\xbb", b"\ndata: x\n\n") == [E("x")]
    assert decode(b"\xef", b"data: x\n\n") == []  # the field name becomes "\ufffddata": ignored
    assert decode(b"\xef") == []


def test_bom_after_flush_starts_new_stream() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"\xef\xbb\xbfdata: a\n\n") == [E("a")]
    assert decoder.flush() == []
    assert decoder.feed(b"\xef\xbb\xbfdata: b\n\n") == [E("b")]


TEXT = "héllo wörld — 你好 🦙 \U0010ffff ß"


def test_multibyte_utf8_split_at_every_byte_position() -> None:
    # Complaint 6: multibyte characters split across chunks.
    stream = f"event: ü\ndata: {TEXT}\nid: 🦙\n\n".encode()
    expected = [E(TEXT, event="ü", id="🦙")]
    for cut in range(len(stream) + 1):
        assert decode(stream[:cut], stream[cut:]) == expected, cut
    for cut1 in range(len(stream) + 1):
        for cut2 in range(cut1, len(stream) + 1, 3):
            assert decode(stream[:cut1], stream[cut1:cut2], stream[cut2:]) == expected
    assert decode_bytewise(stream) == expected


def test_invalid_utf8_is_replaced_not_raised() -> None:
    assert decode(b"data: a\xffb\n\n") == [E("a\ufffdb")]
    assert decode(b"data: \xe4\xbd\n\n") == [E("\ufffd")]
    assert decode_bytewise(b"data: \xc3\n\n") == [E("\ufffd")]
    assert decode(b"data: \xed\xa0\x80\n\n") == [E("\ufffd\ufffd\ufffd")]  # surrogate
    assert decode(b"\xff\xfe\n\ndata: ok\n\n") == [E("ok")]


def test_other_unicode_line_separators_are_data() -> None:
    text = "a\x85b\u2028c\u2029d\x0be\x0cf\x1cg"
    assert decode(f"data: {text}\n\n".encode()) == [E(text)]


def test_nul_in_data_is_kept() -> None:
    assert decode(b"data: a\x00b\n\n") == [E("a\x00b")]


# ---------------------------------------------------------------------------- flush


def test_flush_dispatches_unterminated_event() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: x\n\ndata: [DONE]\n") == [E("x")]
    assert decoder.flush() == [E("[DONE]")]


def test_flush_processes_partial_line() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: x\n\ndata: [DONE]") == [E("x")]
    assert decoder.flush() == [E("[DONE]")]
    assert decode(b"id: 5\nevent: e\ndata: a\ndata: b") == [E("a\nb", event="e", id="5")]


def test_flush_with_nothing_pending() -> None:
    decoder = SSEDecoder()
    assert decoder.flush() == []
    assert decoder.feed(b"data: x\n\n") == [E("x")]
    assert decoder.flush() == []
    assert decoder.flush() == []


def test_flush_without_data_yields_nothing() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"event: x\nretry: 9\nid: q\n: c") == []
    assert decoder.flush() == []
    assert decoder.retry == 9
    assert decoder.last_event_id == "q"


def test_flush_resets_stream_state() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"id: 1\nevent: e\ndata: x\r") == []
    assert decoder.flush() == [E("x", event="e", id="1")]
    # The pending CR does not swallow a LF of the next stream: "\n" here is a blank line.
    assert decoder.feed(b"\ndata: y\n\n") == [E("y", id="1")]
    assert decoder.last_event_id == "1"


def test_flush_after_trailing_cr() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: x\r\r") == [E("x")]
    assert decoder.flush() == []


def test_empty_chunks_are_harmless() -> None:
    assert decode(b"", b"data: x", b"", b"\n", b"", b"\n", b"") == [E("x")]


# ---------------------------------------------------------------------------- limits


def test_oversize_line_raises_default_limit() -> None:
    decoder = SSEDecoder()
    piece = b"x" * (1024 * 1024)
    decoder.feed(b"data: ")
    with pytest.raises(SSEProtocolError, match="longer than 16777216 bytes"):
        for _ in range(17):
            decoder.feed(piece)
    assert MAX_LINE_BYTES == 16 * 1024 * 1024
    assert issubclass(SSEProtocolError, ValueError)


def test_line_of_exactly_the_limit_is_accepted() -> None:
    decoder = SSEDecoder(max_line_bytes=16)
    assert decoder.feed(b"data: 0123456789") == []  # 16 bytes
    assert decoder.feed(b"\n\n") == [E("0123456789")]
    assert decoder.feed(b"data: 0123456789\n\n") == [E("0123456789")]


def test_oversize_partial_line_raises() -> None:
    decoder = SSEDecoder(max_line_bytes=16)
    decoder.feed(b"data: 012345678")
    with pytest.raises(SSEProtocolError):
        decoder.feed(b"9x")


def test_oversize_complete_line_in_one_chunk_raises_with_earlier_events() -> None:
    decoder = SSEDecoder(max_line_bytes=16)
    with pytest.raises(SSEProtocolError) as info:
        decoder.feed(b"data: a\n\ndata: 0123456789ab\n\ndata: b\n\n")
    assert info.value.events == [E("a")]


def test_oversize_trailing_partial_keeps_earlier_events() -> None:
    decoder = SSEDecoder(max_line_bytes=16)
    with pytest.raises(SSEProtocolError) as info:
        decoder.feed(b"data: a\n\ndata: 0123456789ab")
    assert info.value.events == [E("a")]


def test_oversize_line_spanning_chunks_raises() -> None:
    decoder = SSEDecoder(max_line_bytes=16)
    decoder.feed(b"data: 01234")
    with pytest.raises(SSEProtocolError):
        decoder.feed(b"56789ab\n\n")


def test_many_small_chunks_long_line_is_linear() -> None:
    # A 4 MiB line in 1 KiB pieces must not be re-joined on every feed (quadratic).
    decoder = SSEDecoder()
    decoder.feed(b"data: ")
    piece = b"y" * 1024
    for _ in range(4096):
        assert decoder.feed(piece) == []
    events = decoder.feed(b"\n\n")
    assert len(events) == 1
    assert len(events[0].data) == 4 * 1024 * 1024


# ---------------------------------------------------------------------------- properties


@dataclass
class GenEvent:
    lines: list[tuple[str, str]]  # (field, value) in wire order; field "" is a comment
    terminated: bool


line_text = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="\r\n"),
    max_size=12,
)
# Field names that matter, plus unknown ones (must not contain ":" or line ends, nor start with ":").
field_line = st.one_of(
    st.tuples(st.just("data"), line_text),
    st.tuples(st.just("data"), line_text),
    st.tuples(st.just("event"), line_text),
    st.tuples(st.just("id"), line_text | st.just("a\x00b")),
    st.tuples(st.just("retry"), st.integers(0, 10**12).map(str) | line_text),
    st.tuples(st.sampled_from(["", "foo", "Data", "ret"]), line_text),  # "" = comment
)
events_strategy = st.lists(
    st.builds(GenEvent, st.lists(field_line, max_size=6), st.booleans()),
    max_size=6,
)


def serialize(events: list[GenEvent], data: st.DataObject) -> bytes:
    eols = st.sampled_from(["\n", "\r\n", "\r"])
    out: list[str] = []
    if data.draw(st.booleans(), label="bom"):
        out.append("\ufeff")
    for index, ev in enumerate(events):
        # Only the last event may be unterminated (flush dispatches it).
        last = index == len(events) - 1
        for field, value in ev.lines:
            if field == "":
                out.append(":" + value)
            else:
                space = value.startswith(" ") or data.draw(st.booleans(), label="space")
                if value == "" and data.draw(st.booleans(), label="no colon"):
                    out.append(field)
                else:
                    out.append(field + (": " if space else ":") + value)
            out.append(data.draw(eols, label="eol"))
        if ev.terminated or not last:
            eol = data.draw(eols, label="blank")
            # A CR followed by a LF would merge into one CRLF line end: avoid "\r" + "\n".
            if out and out[-1] == "\r" and eol == "\n":
                eol = "\r"
            out.append(eol)
    return "".join(out).encode("utf-8")


def expected_events(events: list[GenEvent]) -> tuple[list[ServerSentEvent], str | None, int | None]:
    """Reference model, written independently of the decoder."""
    result: list[ServerSentEvent] = []
    last_id: str | None = None
    retry: int | None = None
    for ev in events:
        data: list[str] = []
        event_type: str | None = None
        event_retry: int | None = None
        for field, value in ev.lines:
            if field == "data":
                data.append(value)
            elif field == "event":
                event_type = value or None
            elif field == "id" and "\x00" not in value:
                last_id = value
            elif field == "retry" and value != "" and all(c in "0123456789" for c in value):
                retry = event_retry = int(value)
        if data:
            result.append(ServerSentEvent("\n".join(data), event_type, last_id, event_retry))
    return result, last_id, retry


def _decode_with(stream: bytes, cuts: list[int]) -> tuple[list[ServerSentEvent], SSEDecoder]:
    decoder = SSEDecoder()
    out: list[ServerSentEvent] = []
    prev = 0
    for cut in [*sorted(cuts), len(stream)]:
        out.extend(decoder.feed(stream[prev:cut]))
        prev = cut
    out.extend(decoder.flush())
    return out, decoder


@settings(max_examples=300, deadline=None)
@given(events_strategy, st.data())
def test_property_any_split_decodes_like_unsplit_and_matches_model(
    events: list[GenEvent], data: st.DataObject
) -> None:
    stream = serialize(events, data)
    whole, whole_decoder = _decode_with(stream, [])
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=20), label="cuts")
    split, split_decoder = _decode_with(stream, cuts)
    assert split == whole
    expected, last_id, retry = expected_events(events)
    assert whole == expected
    assert whole_decoder.last_event_id == split_decoder.last_event_id == last_id
    assert whole_decoder.retry == split_decoder.retry == retry


@settings(max_examples=100, deadline=None)
@given(events_strategy, st.data())
def test_property_bytewise_feed(events: list[GenEvent], data: st.DataObject) -> None:
    stream = serialize(events, data)
    assert decode_bytewise(stream) == expected_events(events)[0]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200), st.lists(st.integers(0, 200), max_size=10))
def test_property_arbitrary_bytes_never_raise_and_split_invariant(stream: bytes, cuts: list[int]) -> None:
    whole, _ = _decode_with(stream, [])
    split, _ = _decode_with(stream, [c for c in cuts if c <= len(stream)])
    assert split == whole
    assert all(isinstance(e.data, str) for e in whole)
