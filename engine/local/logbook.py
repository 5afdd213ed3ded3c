"""A function's captured output: a bounded ring buffer in memory plus a rotated log file.

Lines come from the workers' stdout/stderr reader threads and from the supervisor (stream
`platform`: started, crashed, killed over memory, stopped idle …). The file keeps the history
across control-plane restarts; the buffer is seeded from its tail on first use.

The file is JSON lines, one `{"time", "stream", "message"}` object per line: JSON escapes every
control character (newlines, tabs, `\\` itself), so any message reads back exactly as it was
written. Files written before (`<time>\t<stream>\t<message>`) are still read.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

DEFAULT_BUFFER_LINES = 2_000
DEFAULT_MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_LINE_CHARS = 16 * 1024
_TAIL_BYTES = 256 * 1024


@dataclass(frozen=True)
class LogLine:
    time: float
    stream: str
    message: str

    def to_file(self) -> str:
        record = {"time": _iso(self.time), "stream": self.stream, "message": self.message}
        return json.dumps(record, ensure_ascii=False) + "\n"

    def to_dict(self) -> dict[str, object]:
        return {"time": _iso(self.time), "stream": self.stream, "message": self.message}

    @classmethod
    def from_file(cls, line: str) -> LogLine | None:
        """One line of the file, or None for anything that is not a complete record."""
        text = line.rstrip("\n")
        if text.startswith("{"):
            return cls._from_json(text)
        return cls._from_legacy(text)

    @classmethod
    def _from_json(cls, text: str) -> LogLine | None:
        try:
            record: Any = json.loads(text)
            stamp, stream, message = record["time"], record["stream"], record["message"]
        except (ValueError, KeyError, TypeError):
            return None
        if not (isinstance(stamp, str) and isinstance(stream, str) and isinstance(message, str)):
            return None
        parsed = _parse_time(stamp)
        return None if parsed is None else cls(parsed, stream, message)

    @classmethod
    def _from_legacy(cls, text: str) -> LogLine | None:
        """The tab-separated format of earlier versions (newlines were written as `\\n`)."""
        parts = text.split("\t", 2)
        if len(parts) != 3:
            return None
        parsed = _parse_time(parts[0])
        return None if parsed is None else cls(parsed, parts[1], parts[2].replace("\\n", "\n"))


def _parse_time(text: str) -> float | None:
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


def _iso(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, UTC).isoformat(timespec="milliseconds")


class LogBook:
    """Thread-safe: many writers (reader threads, supervisor), readers from any thread."""

    def __init__(
        self,
        path: Path,
        *,
        buffer_lines: int = DEFAULT_BUFFER_LINES,
        max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    ) -> None:
        self.path = path
        self._max_file_bytes = max_file_bytes
        self._lines: deque[LogLine] = deque(maxlen=buffer_lines)
        self._lock = threading.Lock()
        self._file: IO[bytes] | None = None
        self._size = 0
        self._seeded = False
        self._closed = False

    def write(self, stream: str, message: str) -> None:
        self.write_many(stream, [message])

    def write_many(self, stream: str, messages: list[str]) -> None:
        now = time.time()
        lines = [LogLine(now, stream, message[:MAX_LINE_CHARS]) for message in messages]
        with self._lock:
            self._seed()
            self._lines.extend(lines)
            self._append("".join(line.to_file() for line in lines))

    def recent(self, limit: int) -> list[LogLine]:
        with self._lock:
            self._seed()
            lines = list(self._lines)
        return lines[-limit:] if limit > 0 else []

    def close(self) -> None:
        """Stop writing the file (lines still reach the buffer); used before files are removed."""
        with self._lock:
            self._closed = True
            if self._file is not None:
                self._file.close()
                self._file = None

    def _seed(self) -> None:
        if self._seeded:
            return
        self._seeded = True
        for text in _tail(self.path, _TAIL_BYTES):
            parsed = LogLine.from_file(text)
            if parsed is not None:
                self._lines.append(parsed)

    def _append(self, text: str) -> None:
        if self._closed:
            return
        data = text.encode("utf-8", errors="replace")
        try:
            if self._file is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._file = self.path.open("ab")
                self._size = self._file.tell()
            if self._size + len(data) > self._max_file_bytes:
                self._rotate()
            assert self._file is not None
            self._file.write(data)
            self._file.flush()
            self._size += len(data)
        except OSError:
            # The function's directory was removed (destroy) or the disk is full: the ring
            # buffer still has the line; losing the file copy must not break the worker.
            self._file = None

    def _rotate(self) -> None:
        assert self._file is not None
        self._file.close()
        self.path.replace(self.path.with_name(self.path.name + ".1"))
        self._file = self.path.open("ab")
        self._size = 0


def _tail(path: Path, max_bytes: int) -> list[str]:
    """The file's last whole lines within `max_bytes`. Split on `\\n` only: a record may hold
    characters `str.splitlines` also breaks on (U+2028, \\x85), which JSON leaves unescaped."""
    try:
        with path.open("rb") as handle:
            size = handle.seek(0, 2)
            handle.seek(max(0, size - max_bytes))
            data = handle.read()
    except OSError:
        return []
    lines = data.decode("utf-8", errors="replace").split("\n")
    if size > max_bytes:
        lines = lines[1:]  # the first one was cut by the seek
    return [line for line in lines if line]
