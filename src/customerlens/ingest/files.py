"""Looking at an input file before loading it: existence, emptiness, encoding, format, layout."""

from __future__ import annotations

import codecs
import csv
import re
from dataclasses import dataclass
from pathlib import Path

from customerlens.config import SourceConfig
from customerlens.errors import IngestError

_SAMPLE_BYTES = 64 * 1024
_BLOCK = 1 << 22
# Latin-1 maps 0x80-0x9F to control characters that never appear in real text; their presence
# means another 8-bit encoding (most often Windows-1252), which we report instead of misreading.
_C1_CONTROLS = re.compile(rb"[\x80-\x9f]")


@dataclass(frozen=True)
class FileLayout:
    """What :func:`inspect_file` found out about a file."""

    path: Path
    format: str  # csv | parquet | whitespace
    encoding: str  # utf-8 | latin-1 (DuckDB's names)
    delimiter: str
    header: bool


def inspect_file(role: str, source: SourceConfig) -> FileLayout:
    """Check that the file can be read and settle its format, encoding, delimiter and header."""
    path = source.path
    if not path.exists():
        raise IngestError(f"{role}: file {path} does not exist. Check the path.")
    if path.is_dir():
        raise IngestError(f"{role}: {path} is a folder; give the path of a file.")
    if path.stat().st_size == 0:
        raise IngestError(f"{role}: file {path} is empty (0 bytes). Export it again.")
    fmt = source.format if source.format != "auto" else _format_from_name(path)
    if fmt == "parquet":
        return FileLayout(path, "parquet", "utf-8", ",", True)
    encoding = source.encoding if source.encoding != "auto" else detect_encoding(path)
    sample = _text_sample(path, encoding)
    if not sample.strip():
        raise IngestError(f"{role}: file {path} contains only blank lines. Export it again.")
    if fmt == "csv" and source.delimiter is None and _looks_whitespace_separated(sample):
        fmt = "whitespace"
    delimiter = source.delimiter or (" " if fmt == "whitespace" else _sniff_delimiter(sample))
    header = source.header
    if header is None:
        header = source.column_names is None and _has_header(sample, delimiter, fmt)
    return FileLayout(path, fmt, encoding, delimiter, header)


def _format_from_name(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if ".parquet" in suffixes or ".pq" in suffixes:
        return "parquet"
    return "csv"


def detect_encoding(path: Path) -> str:
    """Return ``'utf-8'`` (with or without BOM) or ``'latin-1'``; raise for anything else."""
    with path.open("rb") as handle:
        head = handle.read(4)
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or head.startswith(
            (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)
        ):
            raise IngestError(
                f"{path} is encoded as UTF-16/UTF-32, which customerlens does not read. "
                "Save it as UTF-8 (e.g. Excel: 'CSV UTF-8')."
            )
        handle.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        is_utf8 = True
        offset = 0
        for block in iter(lambda: handle.read(_BLOCK), b""):
            nul = block.find(b"\x00")
            if nul >= 0:
                raise IngestError(
                    f"{path} contains NUL bytes at byte {offset + nul}: it is "
                    "binary or UTF-16 text, not a CSV customerlens can read. Save it as UTF-8."
                )
            if is_utf8:
                try:
                    decoder.decode(block)
                except UnicodeDecodeError:
                    is_utf8 = False
            if not is_utf8:
                match = _C1_CONTROLS.search(block)
                if match:
                    raise IngestError(
                        f"{path} is neither UTF-8 nor Latin-1 (byte 0x{match.group()[0]:02x} at "
                        f"byte {offset + match.start()} looks like Windows-1252 or another "
                        "code page). Save the file as UTF-8 and ingest it again."
                    )
            offset += len(block)
    return "utf-8" if is_utf8 else "latin-1"


def _text_sample(path: Path, encoding: str) -> str:
    with path.open("rb") as handle:
        raw = handle.read(_SAMPLE_BYTES)
    text = raw.decode("utf-8" if encoding == "utf-8" else "latin-1", errors="ignore")
    text = text.lstrip("\ufeff")
    # drop a partial last line
    return text if len(raw) < _SAMPLE_BYTES else text[: text.rfind("\n") + 1]


def _lines(sample: str, limit: int = 50) -> list[str]:
    return [line for line in sample.splitlines() if line.strip()][:limit]


def _looks_whitespace_separated(sample: str) -> bool:
    """No usual delimiter, but a constant number (>1) of whitespace-separated fields."""
    lines = _lines(sample)
    if any(d in line for line in lines for d in ",;\t|"):
        return False
    widths = [len(line.split()) for line in lines]
    common = max(set(widths), key=widths.count)
    # a ragged line or two is rejected later, row by row; the layout is what most lines say
    return common > 1 and widths.count(common) >= 0.75 * len(widths)


def _sniff_delimiter(sample: str) -> str:
    lines = _lines(sample)
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=",;\t|").delimiter
    except csv.Error:
        # csv.Sniffer fails on files with one column or irregular quoting: count candidates
        counts = {d: sum(line.count(d) for line in lines) for d in ",;\t|"}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ","


def _has_header(sample: str, delimiter: str, fmt: str) -> bool:
    """A first row with no numeric field is taken as a header (set ``header`` to override)."""
    first_line = _lines(sample, 1)[0]
    if fmt == "whitespace":
        first = first_line.split()
    else:
        first = next(csv.reader([first_line], delimiter=delimiter))
    return not any(_is_number(f.strip()) for f in first if f.strip())


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", ""))
    except ValueError:
        return False
    return True
