"""Content addressing exactly as ``ipfs add --cid-version=1`` does it (pure, no I/O).

Files are cut into 256 KiB chunks stored as raw blocks (codec ``raw``); a file of one chunk
is that raw block. Larger files get a balanced tree of UnixFS ``File`` nodes (codec
``dag-pb``) with at most 174 links each, every node listing its children's CIDs, cumulative
block sizes and file sizes. The encodings follow the DAG-PB and UnixFS specifications: links
before data, each link with ``Hash``, an empty ``Name`` and ``Tsize``. The same bytes give
the same CID here, in Kubo and in js-ipfs (tested against a js-ipfs daemon).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

from multiformats import CID, multihash

from node.errors import ContentMismatch, InvalidCid

__all__ = ["CHUNK_SIZE", "MAX_LINKS", "Block", "build_dag", "cid_of", "decode_file_node", "raw_cid", "as_cid", "verify"]

CHUNK_SIZE = 256 * 1024
MAX_LINKS = 174
_UNIXFS_FILE = 2


@dataclass(frozen=True)
class Block:
    cid: CID
    data: bytes


def as_cid(value: CID | str | bytes) -> CID:
    """A CID from its object, string (any base) or binary form."""
    if isinstance(value, CID):
        return value
    try:
        return CID.decode(value)
    except Exception as exc:  # multiformats raises KeyError, ValueError and its own types
        shown = "0x" + value.hex() if isinstance(value, bytes) else repr(value)
        raise InvalidCid(f"{shown} is not a CID ({exc})", hint="CIDs look like bafy... or bafk...") from None


def raw_cid(data: bytes) -> CID:
    return CID("base32", 1, "raw", multihash.wrap(hashlib.sha256(data).digest(), "sha2-256"))


def _pb_cid(data: bytes) -> CID:
    return CID("base32", 1, "dag-pb", multihash.wrap(hashlib.sha256(data).digest(), "sha2-256"))


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, wire: int) -> bytes:
    return _varint(number << 3 | wire)


def _bytes_field(number: int, value: bytes) -> bytes:
    return _field(number, 2) + _varint(len(value)) + value


def _unixfs_file(filesize: int, blocksizes: list[int]) -> bytes:
    out = _field(1, 0) + _varint(_UNIXFS_FILE) + _field(3, 0) + _varint(filesize)
    for size in blocksizes:
        out += _field(4, 0) + _varint(size)
    return out


def _pb_node(links: list[tuple[CID, int]], data: bytes) -> bytes:
    out = b""
    for cid, tsize in links:
        link = _bytes_field(1, bytes(cid)) + _bytes_field(2, b"") + _field(3, 0) + _varint(tsize)
        out += _bytes_field(2, link)
    return out + _bytes_field(1, data)


@dataclass(frozen=True)
class _Node:
    cid: CID
    filesize: int  # bytes of file content below this node
    tsize: int  # bytes of all blocks below and including this node


def build_dag(data: bytes) -> tuple[CID, list[Block]]:
    """The root CID of ``data`` and every block of its DAG (leaves first)."""
    blocks: list[Block] = []
    chunks = [data[i : i + CHUNK_SIZE] for i in range(0, len(data), CHUNK_SIZE)] or [b""]
    level: list[_Node] = []
    for chunk in chunks:
        cid = raw_cid(chunk)
        blocks.append(Block(cid, chunk))
        level.append(_Node(cid, len(chunk), len(chunk)))
    if len(level) == 1:
        return level[0].cid, blocks
    # Balanced layout: fill parents of MAX_LINKS children, level by level.
    while len(level) > 1:
        parents = []
        for i in range(0, len(level), MAX_LINKS):
            children = level[i : i + MAX_LINKS]
            encoded = _pb_node([(c.cid, c.tsize) for c in children], _unixfs_file(sum(c.filesize for c in children), [c.filesize for c in children]))
            cid = _pb_cid(encoded)
            blocks.append(Block(cid, encoded))
            parents.append(_Node(cid, sum(c.filesize for c in children), len(encoded) + sum(c.tsize for c in children)))
        level = parents
    return level[0].cid, blocks


def cid_of(data: bytes) -> CID:
    """The CID ``ipfs add --cid-version=1`` gives ``data``."""
    return build_dag(data)[0]


def _read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        if pos >= len(buf):
            raise ValueError("truncated varint")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def _fields(buf: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    pos = 0
    while pos < len(buf):
        key, pos = _read_varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _read_varint(buf, pos)
            yield number, wire, value
        elif wire == 2:
            length, pos = _read_varint(buf, pos)
            if pos + length > len(buf):
                raise ValueError("truncated field")
            yield number, wire, buf[pos : pos + length]
            pos += length
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")


def decode_file_node(block: bytes) -> list[CID]:
    """The child CIDs of a dag-pb UnixFS file node, in order."""
    children = []
    for number, wire, value in _fields(block):
        if number == 2 and wire == 2:
            for n, w, v in _fields(value):  # type: ignore[arg-type]
                if n == 1 and w == 2:
                    children.append(CID.decode(bytes(v)))  # type: ignore[arg-type]
    return children


def verify(target: CID, data: bytes, *, source: str) -> None:
    """Refuse ``data`` unless it is the content of ``target`` (meritnet content is CIDv1,
    SHA-256, raw leaves, 256 KiB chunks: recomputing the CID checks every byte)."""
    if target.version != 1 or target.hashfun.name != "sha2-256":
        raise ContentMismatch(f"cannot verify {target} from {source}: meritnet content is CIDv1 with SHA-256", hint="add content with `ipfs add --cid-version=1`")
    if cid_of(data) != target:
        raise ContentMismatch(f"{source} returned {len(data)} bytes that are not the content of {target} (refused)",
                              hint="the store or a peer serves corrupted or forged content: check the daemon, or fetch from another node")  # fmt: skip
