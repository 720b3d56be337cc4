"""Reading answers: streams of typed chunks, and whole bodies within their limits.

Nothing is imported here, so that importing one module loads only what it needs. What each module hands out:

- ``streams``: ``Stream`` / ``AsyncStream`` and the sans-IO ``StreamCore`` they share; ``read_body`` / ``aread_body``
- ``sse``: ``SSEDecoder``, server-sent events decoded from bytes, without I/O
- ``accumulate``: ``ChatAccumulator`` / ``CompletionAccumulator``, a stream's chunks folded into one result
- ``body``: ``BodyCollector``, a whole body read within ``max_response_bytes`` (decoded bytes counted)
- ``raw_response``: ``RawResponse``, what ``with_raw_response`` returns (headers, status, the parsed result)
"""
