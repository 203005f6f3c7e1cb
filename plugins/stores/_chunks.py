"""What the document stores share: cutting a stream of chunks into pieces of one size."""

from __future__ import annotations

from collections.abc import Iterable, Iterator


def even_pieces(chunks: Iterable[bytes], size: int) -> Iterator[bytes]:
    """The bytes of ``chunks`` in pieces of ``size`` (the last may be shorter; an empty
    stream is one empty piece), holding at most one piece and one chunk in memory."""
    buffer = bytearray()
    emitted = False
    for chunk in chunks:
        buffer += chunk
        while len(buffer) >= size:
            yield bytes(buffer[:size])
            del buffer[:size]
            emitted = True
    if buffer or not emitted:
        yield bytes(buffer)
