"""Make the corpus of decompression bombs and malformed model files (issue 18) into a folder.

``python tests/data/make_bombs.py DIR`` writes them; the tests call :func:`make_all` into a temporary
folder once per session (no binary over 1 MB is committed). Every file is at most a few MB on disk
and is built in well under a second per file: the big inflated streams are not compressed byte by
byte but made of one deflate segment repeated (after a full flush a compressor restarts from an empty
history, so the same input block gives the same bytes every time).

Rating files (each must be refused by ``load_ratings``, the CLI and Home):

- ``duplicates.csv.gz``: one gzip member of ``1,1,5`` rows (valid ratings, all one pair) inflating to 2 GiB;
- ``nul.zip``: a zip of 1 GiB of NUL bytes;
- ``gz_in_zip.zip``: a zip holding ``ratings.csv.gz`` of rows inflating to 1 GiB (two layers);
- ``zip_in_zip.zip``: a zip holding a zip of ratings (nesting beyond one level);
- ``zeros_rows.zip``: a zip of ``0,0,0`` lines inflating to 2 GiB (the ArrowMemoryError case);
- ``gz_in_gz.csv.gz``: a gzip of a gzip.

Model files (each must be refused by ``SGDFactorizer.load``, ``recommend`` and Explore):

- ``zeros_P.npz``: a model whose ``P`` entry is 2 GiB of zeros (2 MB on disk);
- ``declared_512GiB.npz``: ``P``'s ``.npy`` header declares 512 GiB; the entry holds a few bytes;
- ``deep_json.npz``: ``meta`` nested 100,000 levels deep;
- ``biases_2d.npz``, ``string_factors.npz``, ``nan_scale.npz``, ``inverted_scale.npz``,
  ``nan_factors.npz``, ``object_ids.npz`` (a pickled object array): valid models with one field broken.
"""

from __future__ import annotations

import io
import json
import struct
import sys
import zipfile
import zlib
from pathlib import Path

import numpy as np

GiB = 1 << 30
BLOCK = 1 << 20


def _deflate_repeated(block: bytes, total: int) -> tuple[bytes, int, int]:
    """(raw deflate stream, crc32, size) of ``block`` repeated to ``total`` bytes (a multiple)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    segment = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    count = total // len(block)
    crc = 0
    for _ in range(count):
        crc = zlib.crc32(block, crc)
    final = zlib.compressobj(9, zlib.DEFLATED, -15).flush(zlib.Z_FINISH)  # an empty last block
    return segment * count + final, crc, count * len(block)


def _block(line: bytes) -> bytes:
    """Whole ``line``s, about :data:`BLOCK` bytes."""
    return line * (BLOCK // len(line))


def gzip_of(block: bytes, total: int) -> bytes:
    """A single-member gzip file of ``block`` repeated to about ``total`` bytes."""
    stream, crc, size = _deflate_repeated(block, total)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    return header + stream + struct.pack("<II", crc, size & 0xFFFFFFFF)


def zip_of(members: list[tuple[str, bytes, int, int, bool]]) -> bytes:
    """A zip of ``(name, data, crc, size, deflated)`` members, written by hand so that a member's
    deflate stream can be the repeated segment (zipfile would compress GBs)."""
    out, central = io.BytesIO(), []
    for name, data, crc, size, deflated in members:
        offset = out.tell()
        method = 8 if deflated else 0
        encoded = name.encode()
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0x21, crc, len(data), size,
                              len(encoded), 0) + encoded + data)
        central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0, 0x21, crc,
                                   len(data), size, len(encoded), 0, 0, 0, 0, 0, offset) + encoded)
    start = out.tell()
    directory = b"".join(central)
    out.write(directory + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(central), len(central),
                                      len(directory), start, 0))
    return out.getvalue()


def stored(name: str, data: bytes) -> tuple[str, bytes, int, int, bool]:
    return name, data, zlib.crc32(data), len(data), False


def deflated_repeat(name: str, block: bytes, total: int) -> tuple[str, bytes, int, int, bool]:
    stream, crc, size = _deflate_repeated(block, total)
    return name, stream, crc, size, True


def rating_bombs() -> dict[str, bytes]:
    rows = _block(b"1,1,5\n")
    zeros = _block(b"0,0,0\n")
    inner_gz = gzip_of(rows, GiB)
    inner_zip = zip_of([deflated_repeat("ratings.csv", rows, GiB)])
    return {
        "duplicates.csv.gz": gzip_of(rows, 2 * GiB),
        "nul.zip": zip_of([deflated_repeat("ratings.csv", bytes(BLOCK), GiB)]),
        "gz_in_zip.zip": zip_of([stored("ratings.csv.gz", inner_gz)]),
        "zip_in_zip.zip": zip_of([stored("ratings.zip", inner_zip)]),
        "zeros_rows.zip": zip_of([deflated_repeat("ratings.csv", zeros, 2 * GiB)]),
        "gz_in_gz.csv.gz": gzip_of(inner_gz[: BLOCK // 2].ljust(BLOCK // 2, b"\x00"), BLOCK),
    }


def _valid_model_arrays() -> dict[str, np.ndarray]:
    """The entries of a small fitted model's file (a 4 x 3 toy, 3 epochs)."""
    from mfcore import SGDFactorizer, load_ratings
    from mfcore.models.persist import model_bytes

    ratings = load_ratings(b"user,item,rating\n1,a,4\n1,b,3\n2,a,5\n2,c,1\n3,b,2\n3,c,4\n4,a,3\n4,c,5\n")
    model = SGDFactorizer(n_factors=2, n_epochs=3, engine="numpy", seed=0).fit(ratings)
    with np.load(io.BytesIO(model_bytes(model, ratings)), allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}


def _npz(arrays: dict, objects: bool = False) -> bytes:
    """An ``.npz`` of ``arrays``; with ``objects``, np.savez (object arrays are stored pickled)."""
    buffer = io.BytesIO()
    if objects:
        np.savez(buffer, **arrays)
    else:
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for key, array in arrays.items():
                with archive.open(key + ".npy", "w") as member:
                    np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)
    return buffer.getvalue()


def _npy_header(shape: tuple, dtype: str) -> bytes:
    """A ``.npy`` version 1.0 header (magic included) declaring ``shape`` of ``dtype``."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": dtype, "fortran_order": False, "shape": shape})
    return buffer.getvalue()


def _entries(arrays: dict) -> list:
    members = []
    for key, array in arrays.items():
        data = io.BytesIO()
        np.lib.format.write_array(data, np.asanyarray(array), allow_pickle=False)
        members.append(stored(key + ".npy", data.getvalue()))
    return members


def model_bombs() -> dict[str, bytes]:
    valid = _valid_model_arrays()
    meta = json.loads(valid["meta"].tobytes())

    def with_meta(**fields) -> dict:
        return {**valid, "meta": np.frombuffer(json.dumps({**meta, **fields}).encode(), np.uint8)}

    others = {key: value for key, value in valid.items() if key != "P"}
    header = _npy_header((GiB // 2, 4), "<f4")  # 2 GiB of float32 zeros
    body, _, size = _deflate_repeated(bytes(BLOCK), 2 * GiB)
    full_crc, zero = zlib.crc32(header), bytes(BLOCK)
    for _ in range(size // BLOCK):
        full_crc = zlib.crc32(zero, full_crc)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    head_stream = compressor.compress(header) + compressor.flush(zlib.Z_FULL_FLUSH)
    zeros_member = ("P.npy", head_stream + body, full_crc, len(header) + size, True)
    deep = np.frombuffer(("[" * 100_000 + "]" * 100_000).encode(), np.uint8)
    nan_factors = valid["P"].copy()
    nan_factors[0, 0] = np.nan
    return {
        "zeros_P.npz": zip_of([zeros_member, *_entries(others)]),
        "declared_512GiB.npz": zip_of([stored("P.npy", _npy_header((1 << 37, 1), "<f4") + bytes(64)),
                                       *_entries(others)]),
        "deep_json.npz": _npz({**valid, "meta": deep}),
        "biases_2d.npz": _npz({**valid, "bu": valid["bu"].reshape(-1, 1)}),
        "string_factors.npz": _npz({**valid, "P": valid["P"].astype(str)}),
        "nan_scale.npz": _npz(with_meta(scale=[float("nan"), 5.0])),
        "inverted_scale.npz": _npz(with_meta(scale=[5.0, 1.0])),
        "nan_factors.npz": _npz({**valid, "P": nan_factors}),
        "object_ids.npz": _npz({**valid, "user_ids": np.array(list(valid["user_ids"]), dtype=object)},
                               objects=True),
    }


def make_all(folder: Path) -> dict[str, Path]:
    """Write every bomb into ``folder``; their paths by file name."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, content in {**rating_bombs(), **model_bombs()}.items():
        assert len(content) < 8 << 20, (name, len(content))
        (folder / name).write_bytes(content)
        paths[name] = folder / name
    return paths


if __name__ == "__main__":
    for name, path in make_all(Path(sys.argv[1] if len(sys.argv) > 1 else "bombs")).items():
        print(f"{path.stat().st_size:>10,}  {name}")
