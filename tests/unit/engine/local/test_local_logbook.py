import json
from pathlib import Path

from engine.local.logbook import LogBook, LogLine


def test_ring_buffer_keeps_the_most_recent_lines(tmp_path: Path) -> None:
    book = LogBook(tmp_path / "w.log", buffer_lines=3)
    for i in range(5):
        book.write("stdout", f"line {i}")
    assert [line.message for line in book.recent(10)] == ["line 2", "line 3", "line 4"]
    assert [line.message for line in book.recent(1)] == ["line 4"]
    assert book.recent(0) == []
    book.close()


def test_file_keeps_everything_and_seeds_a_new_buffer(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "w.log"
    book = LogBook(path)
    book.write_many("stderr", ["a", "b\twith tab"])
    book.write("platform", "multi\nline")
    book.close()
    again = LogBook(path)
    lines = again.recent(10)
    assert [(x.stream, x.message) for x in lines] == [
        ("stderr", "a"),
        ("stderr", "b\twith tab"),
        ("platform", "multi\nline"),
    ]
    assert str(lines[0].to_dict()["time"]).endswith("+00:00")


def test_file_rotates_at_its_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "w.log"
    book = LogBook(path, max_file_bytes=200)
    for i in range(20):
        book.write("stdout", f"message number {i}")
    book.close()
    assert path.stat().st_size <= 200
    assert (tmp_path / "w.log.1").exists()
    assert len(book.recent(100)) == 20  # the buffer is not affected


def test_closed_book_never_recreates_removed_files(tmp_path: Path) -> None:
    path = tmp_path / "gone" / "w.log"
    book = LogBook(path)
    book.close()
    book.write("stdout", "late output")
    assert not path.parent.exists()
    assert [x.message for x in book.recent(5)] == ["late output"]


def test_parse_rejects_garbage() -> None:
    assert LogLine.from_file("no tabs here") is None
    assert LogLine.from_file("not-a-time\tstdout\tx") is None
    assert LogLine.from_file('{"time": "2026-01-01T00:00:00+00:00", "stream": "stdout"') is None
    assert LogLine.from_file('{"time": "nope", "stream": "stdout", "message": "x"}') is None
    assert LogLine.from_file('{"time": "2026-01-01T00:00:00+00:00", "message": 1}') is None
    assert LogLine.from_file("[1, 2]") is None


TRICKY = [
    "a literal backslash-n: \\n stays two characters",
    "a real newline:\nsecond line",
    "tab\there, carriage\rreturn, backslash \\ and \\\\ two",
    'quotes " and \' and {"json": "inside"}',
    "unicode: é 漢字 \u2028 line separator \x85 next line \x0b vtab",
    "2026-01-01T00:00:00.000+00:00\tstdout\tlooks like the old format",
    "",
]


def test_every_message_reads_back_exactly_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "w.log"
    book = LogBook(path)
    book.write_many("stdout", TRICKY)
    book.write("platform", "last")
    book.close()
    assert len(path.read_bytes().splitlines()) == len(TRICKY) + 1  # one record per line

    again = LogBook(path)
    assert [(x.stream, x.message) for x in again.recent(100)] == [
        *(("stdout", message) for message in TRICKY),
        ("platform", "last"),
    ]


def test_records_are_json_lines(tmp_path: Path) -> None:
    path = tmp_path / "w.log"
    book = LogBook(path)
    book.write("stderr", "x\\ny")
    book.close()
    record = json.loads(path.read_text(encoding="utf-8"))
    assert (record["stream"], record["message"]) == ("stderr", "x\\ny")
    assert LogLine.from_file(path.read_text(encoding="utf-8")) == LogBook(path).recent(1)[0]


def test_lines_of_the_previous_format_are_still_read(tmp_path: Path) -> None:
    path = tmp_path / "w.log"
    path.write_text("2026-01-02T03:04:05.678+00:00\tplatform\tmulti\\nline\n", encoding="utf-8")
    book = LogBook(path)
    book.write("stdout", "new")
    assert [(x.stream, x.message) for x in book.recent(5)] == [
        ("platform", "multi\nline"),
        ("stdout", "new"),
    ]
    book.close()


def test_a_tail_cut_in_the_middle_of_a_record_skips_only_that_record(tmp_path: Path) -> None:
    path = tmp_path / "w.log"
    book = LogBook(path)
    book.write_many("stdout", [f"message {i} " + "é" * 50 for i in range(5000)])
    book.close()
    lines = LogBook(path).recent(10_000)
    assert lines and lines[-1].message.startswith("message 4999 ")
    assert all(line.message.endswith("é" * 50) for line in lines)
