"""Artifacts: the same tree packs to the same bytes whatever its timestamps, a change changes
the digest, the init container's unpacker refuses what would write outside its tree, and the
store hands an artifact only to its own function's pull token."""

from __future__ import annotations

import hashlib
import importlib.util
import io
import os
import tarfile
from pathlib import Path
from types import ModuleType

import pytest

from engine.artifact_tar import ArtifactStore, pack, pull_token
from engine.errors import Forbidden, Unauthenticated
from engine.keyring import Keyring

FETCHER = Path(__file__).resolve().parents[3] / "tools" / "images" / "fetch_artifact.py"


def load_fetcher() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fetch_artifact", FETCHER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


fetcher = load_fetcher()


def tree(root: Path, files: dict[str, str], mtime: float) -> Path:
    for path, content in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
    (root / "lib").mkdir(exist_ok=True)
    (root / "link.py").symlink_to("lib/dep.py")
    for each in [root, *root.rglob("*")]:
        os.utime(each, (mtime, mtime), follow_symlinks=False)
    return root


FILES = {"handler.py": "import dep\n", "lib/dep.py": "X = 1\n", "node_modules/a/b/c.js": "1"}


def test_the_same_tree_packs_to_the_same_digest_and_a_change_to_another(tmp_path: Path) -> None:
    first = pack(tree(tmp_path / "a", FILES, 1_000_000), tmp_path / "out")
    # other timestamps, files written in the other order, owner bits differing
    second_root = tree(tmp_path / "b", dict(reversed(FILES.items())), 2_000_000)
    (second_root / "handler.py").chmod(0o600)
    second = pack(second_root, tmp_path / "out")
    assert first.digest == second.digest
    assert first.digest == hashlib.sha256(first.path.read_bytes()).hexdigest()

    (second_root / "lib" / "dep.py").write_text("X = 2\n")
    assert pack(second_root, tmp_path / "out").digest != first.digest


def test_a_packed_tree_unpacks_to_the_same_files(tmp_path: Path) -> None:
    packed = pack(tree(tmp_path / "src", FILES, 1_000_000), tmp_path / "out")
    dest = tmp_path / "dest"
    dest.mkdir()
    fetcher.unpack(packed.path, dest)
    for path, content in FILES.items():
        assert (dest / path).read_text() == content
    assert (dest / "link.py").readlink() == Path("lib/dep.py")


def hostile(tmp_path: Path, *members: tuple[tarfile.TarInfo, bytes]) -> Path:
    path = tmp_path / "hostile.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        for info, data in members:
            info.size = len(data) if info.isreg() else 0
            archive.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return path


def entry(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    return info


@pytest.mark.parametrize(
    "members",
    [
        [entry("../escaped.py")],
        [entry("/etc/passwd")],
        [entry("a/../../escaped.py")],
        [entry("out", tarfile.SYMTYPE, "/etc")],
        [entry("out", tarfile.SYMTYPE, "../../etc")],
        [entry("link", tarfile.SYMTYPE, "lib"), entry("link/below.py")],
        [entry("hard", tarfile.LNKTYPE, "/etc/passwd")],
        [entry("dev", tarfile.CHRTYPE)],
    ],
    ids=[
        "dotdot",
        "absolute",
        "inner-dotdot",
        "abs-link",
        "leaving-link",
        "below-link",
        "hardlink",
        "device",
    ],
)
def test_the_unpacker_refuses_what_would_write_outside_its_tree(
    tmp_path: Path, members: list[tarfile.TarInfo]
) -> None:
    archive = hostile(tmp_path, *[(m, b"x") for m in members])
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(fetcher.Refused):
        fetcher.unpack(archive, dest)
    assert list(dest.iterdir()) == []
    assert not (tmp_path / "escaped.py").exists()


def test_the_store_gives_an_artifact_only_to_its_own_functions_token(tmp_path: Path) -> None:
    keyring, store = Keyring(b"k" * 32), ArtifactStore(tmp_path / "store")
    mine = store.add(tree(tmp_path / "a", FILES, 1), "fna", "build-a")
    theirs = store.add(tree(tmp_path / "b", {"other.py": "2"}, 1), "fnb", "build-b")
    token_a = f"Bearer {pull_token(keyring, 'fna')}"

    assert store.readable(keyring, "fna", mine.digest, token_a) == mine.path
    with pytest.raises(Forbidden):  # a valid token, another function's artifact
        store.readable(keyring, "fna", theirs.digest, token_a)
    with pytest.raises(Unauthenticated):  # its token does not open the other's path
        store.readable(keyring, "fnb", theirs.digest, token_a)
    for wrong in (None, "", "Bearer nope", f"Bearer {pull_token(Keyring(b'o' * 32), 'fna')}"):
        with pytest.raises(Unauthenticated):
            store.readable(keyring, "fna", mine.digest, wrong)


def test_released_artifacts_are_removed_once_nobody_owns_them(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path / "store")
    shared = store.add(tree(tmp_path / "a", FILES, 1), "fna", "build")
    store.own("fnb", shared.digest)  # the same code deployed twice
    assert store.release("fna") == []
    assert shared.path.is_file() and store.built("build") == shared.digest
    assert store.release("fnb") == [shared.digest]
    assert not shared.path.exists() and store.built("build") is None
