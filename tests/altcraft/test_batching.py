"""Splitting profile streams into requests within the profile and byte limits."""

import itertools
import tracemalloc
from collections.abc import Iterator

import pytest

from altcraft.batching import ProfileTooLarge, split_into_chunks
from altcraft.codec import decode, encode_json, encode_xml

ENVELOPE = {"db_id": 1, "matching": "email", "skip_triggers": True}
OPERATION = "profiles/import_batch"


def profiles(count: int, start: int = 0) -> Iterator[dict]:
    for i in range(start, start + count):
        yield {"email": f"user{i}@example.com", "_fname": "Ольга <&>", "n": i}


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_chunks_hold_at_most_max_profiles_in_input_order(fmt):
    chunks = list(split_into_chunks(profiles(25), fmt=fmt, envelope=ENVELOPE, max_profiles=10))

    assert [len(c.profiles) for c in chunks] == [10, 10, 5]
    assert [c.first_index for c in chunks] == [0, 10, 20]
    assert [p["n"] for c in chunks for p in c.profiles] == list(range(25))


@pytest.mark.parametrize(("fmt", "encoder"), [("json", encode_json), ("xml", encode_xml)])
def test_a_chunk_body_is_the_envelope_with_its_profiles_as_data(fmt, encoder):
    for chunk in split_into_chunks(profiles(7), fmt=fmt, envelope=ENVELOPE, max_profiles=3):
        request = {**ENVELOPE, "data": chunk.profiles}

        assert chunk.body == encoder(request)
        types = {"n": "int"}
        assert decode(chunk.body, fmt, operation=OPERATION, custom_field_types=types) == request


@pytest.mark.parametrize("envelope", [{}, {"db_id": 1}])
def test_small_envelopes_frame_correctly(envelope):
    (chunk,) = split_into_chunks(profiles(2), envelope=envelope)

    assert chunk.body == encode_json({**envelope, "data": chunk.profiles})


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_chunks_fill_up_to_max_bytes_and_never_past_it(fmt):
    stream = list(profiles(200))
    max_bytes = 2_000

    chunks = list(split_into_chunks(stream, fmt=fmt, envelope=ENVELOPE, max_bytes=max_bytes))

    assert sum(len(c.profiles) for c in chunks) == 200
    for chunk, following in itertools.pairwise(chunks):
        assert len(chunk.body) <= max_bytes
        bigger = {**ENVELOPE, "data": chunk.profiles + following.profiles[:1]}
        assert len((encode_json if fmt == "json" else encode_xml)(bigger)) > max_bytes
    assert len(chunks[-1].body) <= max_bytes


def test_a_profile_too_large_for_any_request_is_an_error_with_its_index():
    stream = [*profiles(3), {"email": "big@example.com", "notes": "x" * 5_000}, *profiles(2)]
    chunks = split_into_chunks(stream, envelope=ENVELOPE, max_bytes=1_000, max_profiles=2)

    assert [c.first_index for c in itertools.islice(chunks, 2)] == [0, 2]
    with pytest.raises(ProfileTooLarge, match="profile 3 alone makes a 5,") as error:
        next(chunks)
    assert error.value.index == 3


def test_an_envelope_with_data_is_refused():
    with pytest.raises(ValueError, match='must not contain "data"'):
        next(split_into_chunks(profiles(1), envelope={"data": []}))


def test_no_profiles_no_chunks():
    assert list(split_into_chunks([], envelope=ENVELOPE)) == []


def test_the_stream_is_read_only_as_far_as_the_chunk_being_built():
    pulled = 0

    def counting() -> Iterator[dict]:
        nonlocal pulled
        for profile in profiles(1_000_000):
            pulled += 1
            yield profile

    first = next(split_into_chunks(counting(), envelope=ENVELOPE, max_profiles=100))

    assert len(first.profiles) == 100
    assert pulled == 101


def peak_bytes_while_splitting(count: int) -> int:
    tracemalloc.start()
    try:
        for _chunk in split_into_chunks(profiles(count), envelope=ENVELOPE, max_profiles=500):
            pass
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_the_length_of_the_stream():
    short, long = peak_bytes_while_splitting(2_000), peak_bytes_while_splitting(20_000)

    assert long < short * 1.1
