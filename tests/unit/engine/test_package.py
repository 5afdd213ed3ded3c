"""The package rules (engine/package.py) and the handler rules for folders (validation)."""

from __future__ import annotations

import io
import random
import zipfile

import pytest

from engine import package
from engine.errors import InvalidInput, PackageRefused, PackageTooLarge
from engine.spec import FunctionConfig, FunctionSpec
from engine.validation import check_code, check_handler
from runtimes.registry import RuntimeName
from tests.fixtures.packages import zip_bomb, zip_of, zip_with_symlink

SMALL = package.Limits(
    zipped_bytes=64 * 1024, unpacked_bytes=256 * 1024, entries=5, bomb_floor=1024
)


DEFAULT = package.Limits()


def refused(raw: bytes, limits: package.Limits = DEFAULT) -> PackageRefused:
    with pytest.raises(PackageRefused) as caught:
        package.read(raw, limits)
    return caught.value


def test_a_package_is_its_files_whatever_the_zips_dates() -> None:
    files = {"b.py": "b = 1\n", "a/c.py": "c = 2\n"}
    old = package.read(zip_of(files, date=(2001, 1, 1, 0, 0, 0)))
    new = package.read(zip_of(files, date=(2024, 6, 6, 6, 6, 6)))
    assert [f.path for f in old.files] == ["a/c.py", "b.py"]
    assert old.archive != new.archive
    spec_old, spec_new = (spec_for(p.encode()) for p in (old, new))
    assert spec_old.code_sha256 == spec_new.code_sha256
    assert spec_old.spec_hash == spec_new.spec_hash
    assert package.decode(old.encode()).archive == old.archive


def spec_for(code: str) -> FunctionSpec:
    return FunctionSpec(
        "k" * 24, FunctionConfig("f", RuntimeName("python"), "3.12", "b.h"), code, "i"
    )


def test_the_spec_lists_each_file_for_previews() -> None:
    spec = spec_for(package.read(zip_of({"b.py": "x"})).encode())
    assert spec.is_package
    assert set(spec.settings()) >= {"code_sha256", "files/b.py"}


@pytest.mark.parametrize(
    "name",
    ["../x.py", "a/../../x.py", "/etc/passwd", "C:/x.py", "a\\..\\x.py", "a//b.py", "./a.py"],
)
def test_paths_leaving_the_package_are_refused(name: str) -> None:
    assert refused(zip_of({"ok.py": "", name: "x"})).code == "package_unsafe_path"


def test_symlinks_inside_are_kept_outside_refused() -> None:
    inside = package.read(zip_with_symlink({"a/b.py": "x"}, "a/c.py", "b.py"))
    link = next(f for f in inside.files if f.path == "a/c.py")
    assert link.is_link and link.link == "b.py"
    for target in ("../../etc/passwd", "/etc/passwd", "b/../../../x", "../.."):
        raw = zip_with_symlink({"a/b.py": "x"}, "a/c.py", target)
        assert refused(raw).code == "package_symlink"


def test_nothing_may_sit_below_a_symlink() -> None:
    buf = io.BytesIO(zip_with_symlink({"a.py": "x"}, "d", "."))
    with zipfile.ZipFile(buf, "a") as archive:
        archive.writestr("d/e.py", "y")
    assert refused(buf.getvalue()).code == "package_unsafe_path"


def test_limits_are_counted_while_inflating() -> None:
    assert isinstance(refused(b"PK\x03\x04" + b"x" * 70_000, SMALL), PackageTooLarge)
    many = zip_of({f"f{i}.py": "" for i in range(6)})
    assert refused(many, SMALL).code == "package_too_many_entries"
    # Incompressible content past 256 KiB unpacked (so no bomb ratio is reached first).
    noise = random.Random(0)
    wide = zip_of({f"f{i}.bin": noise.randbytes(100_000) for i in range(4)})
    too_big = refused(wide, package.Limits(unpacked_bytes=256 * 1024))
    assert isinstance(too_big, PackageTooLarge) and too_big.detail["limit"] == 256 * 1024


def test_a_bomb_is_stopped_whatever_its_header_says() -> None:
    bomb = zip_bomb(16 * 1024 * 1024)
    assert refused(bomb).code == "package_bomb"
    # The header lies about the size: the inflated bytes still count.
    lying = bytearray(bomb)
    at = lying.index(b"PK\x01\x02")  # central directory: uncompressed size at offset 24
    lying[at + 24 : at + 28] = (1000).to_bytes(4, "little")
    assert refused(bytes(lying)).code in {"package_bomb", "invalid_package"}


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_duplicates_and_garbage_are_invalid() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("a.py", "1")
        archive.writestr("a.py", "2")
    assert refused(buf.getvalue()).code == "invalid_package"
    assert refused(b"PK\x03\x04garbage").code == "invalid_package"


def test_a_zip_upload_is_a_package_and_text_cannot_pretend_to_be_one() -> None:
    code = check_code(zip_of({"a.py": "x"}), max_bytes=10)  # the code limit is not the zip's
    assert package.is_package(code)
    with pytest.raises(InvalidInput) as caught:
        check_code(code, max_bytes=10_000_000)
    assert caught.value.code == "invalid_code"


@pytest.mark.parametrize(
    ("handler", "runtime"),
    [("src/functions/hello.handler", "python"), ("dir/file.handler", "node")],
)
def test_handlers_may_live_in_folders(handler: str, runtime: str) -> None:
    assert check_handler(handler, RuntimeName(runtime)) == handler


@pytest.mark.parametrize(
    "handler", ["src/../x.handler", "/abs.handler", "src//x.handler", "os/x.handler", "a/__x.h"]
)
def test_each_folder_segment_follows_the_file_rules(handler: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_handler(handler, RuntimeName("python"))
    assert caught.value.code == "invalid_handler"
