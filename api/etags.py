"""Entity tags (RFC 9110 §8.8.3) and conditional GETs: a client that holds an answer
sends its tag in ``If-None-Match`` and gets ``304 Not Modified``, no body, while the
answer is the same.

Tags are weak (``W/``): the hub sends one answer gzip-encoded or not, as the client
accepts, and both are the same answer to a cache revalidating it (``If-None-Match``
compares weakly). A tag is made from the body's length and two checksums, 64 bits in
all (zlib-ng's: 0.2 ms for 1.6 MB, where SHA-256 takes 2-3 ms), the same in every API
process: it tells versions of one answer apart, it does not guard against someone
forging one. Used by the live twin's answers (:mod:`api.live_answers`) and the vector
tiles (:mod:`api.routes.tiles`).
"""

from __future__ import annotations

from zlib_ng import zlib_ng

NOT_MODIFIED: dict[int | str, dict[str, object]] = {
    304: {"description": "the answer whose ETag If-None-Match names is still current"}
}
"""The extra answer of a route that honours ``If-None-Match``, for its OpenAPI document."""


def etag(body: bytes) -> str:
    """A weak entity tag of ``body``."""
    return f'W/"{len(body):x}-{zlib_ng.crc32(body):08x}{zlib_ng.adler32(body):08x}"'


def matches(if_none_match: str | None, tag: str) -> bool:
    """Whether ``If-None-Match`` names ``tag`` (RFC 9110 §13.1.2: weak comparison
    against each listed tag, or ``*``)."""
    if if_none_match is None:
        return False
    tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return "*" in tags or tag.removeprefix("W/") in tags
