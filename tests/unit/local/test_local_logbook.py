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
