"""Splitting a stream of profiles into requests within Altcraft's batch limits (§2.5, §13)."""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from .codec import PayloadError, encode_json, encode_xml, encode_xml_element
from .operations import MAX_BYTES, MAX_PROFILES


class ProfileTooLarge(ValueError):
    def __init__(self, index: int, size: int, max_bytes: int) -> None:
        super().__init__(
            f"profile {index} alone makes a {size:,}-byte request, "
            f"over the {max_bytes:,}-byte limit"
        )
        self.index = index
        self.size = size
        self.max_bytes = max_bytes


@dataclass(frozen=True)
class Chunk:
    profiles: list  # as given: profiles, or their encoded items (encoded=True)
    body: bytes  # the whole request: the envelope plus "data": profiles
    first_index: int  # position of profiles[0] in the input stream


def _frame(envelope: dict, fmt: str) -> tuple[bytes, bytes, bytes]:
    """(prefix, separator, suffix) so that body = prefix + separator.join(items) + suffix."""
    if fmt == "json":
        head = encode_json(envelope)[:-1]
        return head + (b',"data":[' if envelope else b'"data":['), b",", b"]}"
    if fmt == "xml":
        return encode_xml(envelope)[: -len(b"</xml>")], b"", b"</xml>"
    raise PayloadError(f"unknown format {fmt!r}")


def body_prefix(envelope: dict, fmt: str) -> bytes:
    """How every chunk split_into_chunks makes with this envelope begins."""
    return _frame(envelope, fmt)[0]


def encode_item(profile: dict, fmt: str) -> bytes:
    """One profile as it stands in a batch body: what split_into_chunks(encoded=True) takes."""
    if fmt == "json":
        return encode_json(profile)
    return encode_xml_element("data", profile, array=True)


def split_into_chunks(
    profiles: Iterable[dict],
    *,
    fmt: str = "json",
    envelope: dict,
    max_profiles: int = MAX_PROFILES,
    max_bytes: int = MAX_BYTES,
    encoded: bool = False,
) -> Iterator[Chunk]:
    """Yields requests of at most ``max_profiles`` profiles and ``max_bytes`` of body.

    Profiles are encoded once each and never split; only one chunk is held at a time, so
    memory does not grow with the length of the stream. A profile too large for any request
    raises ProfileTooLarge once every profile before it has been yielded. With encoded=True
    the stream holds items from encode_item (made elsewhere, e.g. in other processes).
    """
    if "data" in envelope:
        raise ValueError('the envelope must not contain "data"; the profiles go there')
    prefix, separator, suffix = _frame(envelope, fmt)
    frame_size = len(prefix) + len(suffix)
    if frame_size >= max_bytes:
        raise ValueError(f"the envelope alone takes {frame_size} bytes of the {max_bytes} allowed")
    batch: list[dict] = []
    parts: list[bytes] = []
    size = frame_size
    first = 0
    for index, profile in enumerate(profiles):
        item = profile if encoded else encode_item(profile, fmt)
        extra = len(item) + (len(separator) if parts else 0)
        if parts and (len(parts) >= max_profiles or size + extra > max_bytes):
            yield Chunk(batch, _join(prefix, separator, parts, suffix), first)
            batch, parts, size, first = [], [], frame_size, index
            extra = len(item)
        if frame_size + len(item) > max_bytes:
            raise ProfileTooLarge(index, frame_size + len(item), max_bytes)
        batch.append(profile)
        parts.append(item)
        size += extra
    if parts:
        yield Chunk(batch, _join(prefix, separator, parts, suffix), first)


def _join(prefix: bytes, separator: bytes, parts: list[bytes], suffix: bytes) -> bytes:
    """prefix + separator.join(parts) + suffix, copying the body's up to 10 MB once, not three
    times: 6 ms instead of 14 for a 6 MB body, each copy in fresh pages."""
    if len(parts) == 1:
        return prefix + parts[0] + suffix
    return separator.join([prefix + parts[0], *parts[1:-1], parts[-1] + suffix])
