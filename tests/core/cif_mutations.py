"""Mutations of real CIF text for fuzzing the reader (used by test_fuzz_cif.py and
benchmarks/fuzz_cif.py). Each takes the bytes and a ``random.Random`` (hypothesis's
``st.randoms()`` in tests, so failures shrink) and returns new bytes."""

from __future__ import annotations

import random
import re

NUMBER = re.compile(rb"-?\d+\.\d+(?:\(\d+\))?")
SPECIAL = [
    b"nan",
    b"NaN",
    b"inf",
    b"-inf",
    b"?",
    b".",
    b"0",
    b"-0",
    b"1e308",
    b"-1e308",
    b"1e-320",
    b"1e999",
    b"0.0000001",
    b"99999999999999999999",
    b"-1",
    b"abc",
    b"1.5(",
    b"'",
    b";",
    b"_",
    b"loop_",
    b"data_",
    b"#",
    b"\xff",
    b"1,5",
]


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def truncate(data: bytes, r: random.Random) -> bytes:
    return data[: r.randrange(len(data) + 1)]


def flip_bytes(data: bytes, r: random.Random) -> bytes:
    b = bytearray(data)
    for _ in range(r.randint(1, 8)):
        if b:
            b[r.randrange(len(b))] = r.randrange(256)
    return bytes(b)


def delete_lines(data: bytes, r: random.Random) -> bytes:
    ls = _lines(data)
    for _ in range(r.randint(1, 5)):
        if ls:
            del ls[r.randrange(len(ls))]
    return b"\n".join(ls)


def duplicate_lines(data: bytes, r: random.Random) -> bytes:
    ls = _lines(data)
    for _ in range(r.randint(1, 5)):
        i = r.randrange(len(ls))
        ls.insert(r.randrange(len(ls) + 1), ls[i])
    return b"\n".join(ls)


def swap_lines(data: bytes, r: random.Random) -> bytes:
    ls = _lines(data)
    i, j = r.randrange(len(ls)), r.randrange(len(ls))
    ls[i], ls[j] = ls[j], ls[i]
    return b"\n".join(ls)


def random_number(r: random.Random) -> bytes:
    k = r.randrange(6)
    if k == 0:
        return r.choice(SPECIAL)
    if k == 1:
        return repr(r.uniform(-2, 2)).encode()
    if k == 2:
        return repr(r.uniform(-1e6, 1e6)).encode()
    if k == 3:
        return str(r.randint(-10, 400)).encode()
    if k == 4:
        return f"{r.uniform(0, 1):.{r.randint(0, 9)}f}".encode()
    return repr(10.0 ** r.uniform(-300, 300) * r.choice([-1, 1])).encode()


def replace_numbers(data: bytes, r: random.Random) -> bytes:
    spans = [m.span() for m in NUMBER.finditer(data)]
    if not spans:
        return data
    out = bytearray(data)
    for start, end in sorted(r.sample(spans, min(len(spans), r.randint(1, 6))), reverse=True):
        out[start:end] = random_number(r)
    return bytes(out)


def insert_bytes(data: bytes, r: random.Random) -> bytes:
    i = r.randrange(len(data) + 1)
    junk = bytes(r.randrange(256) for _ in range(r.randint(1, 16)))
    if r.random() < 0.5:
        junk = r.choice(SPECIAL) + b" "
    return data[:i] + junk + data[i:]


def cell_tweak(data: bytes, r: random.Random) -> bytes:
    tag = r.choice(
        [
            b"_cell_length_a",
            b"_cell_length_b",
            b"_cell_length_c",
            b"_cell_angle_alpha",
            b"_cell_angle_beta",
            b"_cell_angle_gamma",
        ]
    )
    return re.sub(rb"(" + tag + rb"\s+)\S+", lambda m: m.group(1) + random_number(r), data, count=1)


# weighted towards mutations that keep the syntax (most byte flips only make a syntax error)
MUTATIONS = [
    truncate,
    flip_bytes,
    delete_lines,
    duplicate_lines,
    swap_lines,
    insert_bytes,
    replace_numbers,
    replace_numbers,
    replace_numbers,
    cell_tweak,
    cell_tweak,
]


def mutate(data: bytes, r: random.Random, steps: int | None = None) -> bytes:
    """Apply 1-3 random mutations."""
    for _ in range(steps or r.randint(1, 3)):
        data = r.choice(MUTATIONS)(data, r)
    return data
