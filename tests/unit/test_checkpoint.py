from __future__ import annotations

import json
import os
import pickle
import shutil
from pathlib import Path
from typing import Any

import pytest

from tunelab._checkpoint import (
    DICT_CHECKPOINT_FILE,
    METADATA_FILE,
    Checkpoint,
    make_temp_checkpoint_dir,
    persist_checkpoint,
)
from tunelab._errors import TuneError


def make_dir_checkpoint(root: Path) -> Path:
    directory = root / "src_ckpt"
    (directory / "sub").mkdir(parents=True)
    (directory / "model.bin").write_bytes(b"\x00\x01weights")
    (directory / "sub" / "state.txt").write_text("step=3")
    return directory


def read_tree(directory: str | Path) -> dict[str, bytes]:
    root = Path(directory)
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


# -- construction ------------------------------------------------------------------------


def test_dict_checkpoint_round_trip_is_a_copy() -> None:
    data = {"step": 3, "weights": [1.0, 2.0]}
    checkpoint = Checkpoint.from_dict(data)
    data["step"] = 99
    assert checkpoint.path is None
    out = checkpoint.to_dict()
    assert out == {"step": 3, "weights": [1.0, 2.0]}
    out["step"] = 7
    assert checkpoint.to_dict()["step"] == 3
    assert repr(checkpoint) == "Checkpoint(data_dict with keys ['step', 'weights'])"


def test_directory_checkpoint_refers_without_copy(tmp_path: Path) -> None:
    directory = make_dir_checkpoint(tmp_path)
    checkpoint = Checkpoint.from_directory(directory)
    assert checkpoint.path == str(directory)
    assert repr(checkpoint) == f"Checkpoint(path={str(directory)!r})"
    assert Checkpoint(str(directory)).path == str(directory)


def test_relative_path_is_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert Checkpoint("ck").path == str(tmp_path / "ck")
    assert Checkpoint("file://" + str(tmp_path / "x")).path == str(tmp_path / "x")


def test_air_keyword_arguments(tmp_path: Path) -> None:
    assert Checkpoint(data_dict={"a": 1}).to_dict() == {"a": 1}
    assert Checkpoint(local_path=tmp_path).path == str(tmp_path)


@pytest.mark.parametrize(
    ("kwargs", "error", "fragment"),
    [
        ({}, ValueError, "none"),
        ({"path": "/a", "data_dict": {}}, ValueError, "path, data_dict"),
        ({"path": 3}, TypeError, "path"),
        ({"path": ""}, ValueError, "path"),
        ({"path": "/a", "filesystem": object()}, ValueError, "filesystem"),
        ({"data_dict": [1, 2]}, TypeError, "data_dict"),
    ],
)
def test_constructor_validates(
    kwargs: dict[str, Any], error: type[Exception], fragment: str
) -> None:
    with pytest.raises(error, match=fragment):
        Checkpoint(**kwargs)


def test_from_directory_requires_an_existing_directory(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="missing"):
        Checkpoint.from_directory(tmp_path / "missing")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="existing directory"):
        Checkpoint.from_directory(tmp_path / "file")


def test_from_dict_rejects_non_dicts() -> None:
    with pytest.raises(TypeError, match="data must be a dict"):
        Checkpoint.from_dict([("a", 1)])  # type: ignore[arg-type]


# -- dict <-> directory ----------------------------------------------------------------------


def test_dict_checkpoint_written_to_directory_reads_back(tmp_path: Path) -> None:
    checkpoint = Checkpoint.from_dict({"fn": lambda x: x + 1, "n": 2})
    out = checkpoint.to_directory(tmp_path / "out")
    assert out == str(tmp_path / "out")
    assert os.listdir(out) == [DICT_CHECKPOINT_FILE]
    loaded = Checkpoint.from_directory(out).to_dict()
    assert loaded["n"] == 2
    assert loaded["fn"](1) == 2


def test_to_dict_on_a_plain_directory_explains(tmp_path: Path) -> None:
    checkpoint = Checkpoint.from_directory(make_dir_checkpoint(tmp_path))
    with pytest.raises(ValueError, match="directory checkpoint") as info:
        checkpoint.to_dict()
    assert "as_directory" in str(info.value)


def test_corrupt_dict_file_raises_tune_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / DICT_CHECKPOINT_FILE).write_bytes(b"not a pickle")
    with pytest.raises(TuneError, match=DICT_CHECKPOINT_FILE):
        Checkpoint(tmp_path).to_dict()


def test_dict_file_holding_a_non_dict_raises(tmp_path: Path) -> None:
    (tmp_path / DICT_CHECKPOINT_FILE).write_bytes(pickle.dumps([1, 2]))
    with pytest.raises(TuneError, match="list"):
        Checkpoint(tmp_path).to_dict()


def test_to_directory_copies_everything(tmp_path: Path) -> None:
    source = make_dir_checkpoint(tmp_path)
    before = read_tree(source)
    out = Checkpoint.from_directory(source).to_directory(tmp_path / "copy")
    assert read_tree(out) == before
    assert read_tree(source) == before


def test_to_directory_without_path_makes_a_temp_dir(tmp_path: Path) -> None:
    source = make_dir_checkpoint(tmp_path)
    out = Checkpoint(source).to_directory()
    try:
        assert out != str(source)
        assert read_tree(out) == read_tree(source)
    finally:
        shutil.rmtree(out)


def test_to_directory_into_itself_is_a_noop_and_nested_is_refused(tmp_path: Path) -> None:
    source = make_dir_checkpoint(tmp_path)
    assert Checkpoint(source).to_directory(source) == str(source)
    with pytest.raises(ValueError, match="inside"):
        Checkpoint(source).to_directory(source / "sub" / "deeper")


def test_missing_directory_is_reported(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="gone"):
        Checkpoint(tmp_path / "gone").to_directory(tmp_path / "x")


def test_as_directory(tmp_path: Path) -> None:
    source = make_dir_checkpoint(tmp_path)
    with Checkpoint(source).as_directory() as directory:
        assert directory == str(source)
    assert source.exists()
    with Checkpoint.from_dict({"a": 1}).as_directory() as directory:
        assert Checkpoint(directory).to_dict() == {"a": 1}
        temp = directory
    assert not os.path.exists(temp)


# -- bytes -----------------------------------------------------------------------------------


def test_bytes_round_trip_dict() -> None:
    checkpoint = Checkpoint.from_dict({"a": [1, 2]})
    checkpoint.set_metadata({"epoch": 4})
    restored = Checkpoint.from_bytes(checkpoint.to_bytes())
    assert restored.to_dict() == {"a": [1, 2]}
    assert restored.get_metadata() == {"epoch": 4}


def test_bytes_round_trip_directory(tmp_path: Path) -> None:
    source = make_dir_checkpoint(tmp_path)
    restored = Checkpoint.from_bytes(Checkpoint(source).to_bytes())
    assert restored.path is not None and restored.path != str(source)
    assert read_tree(restored.path) == read_tree(source)
    shutil.rmtree(restored.path)


def test_from_bytes_accepts_air_style_pickled_dict() -> None:
    assert Checkpoint.from_bytes(pickle.dumps({"x": 1})).to_dict() == {"x": 1}


@pytest.mark.parametrize(("data", "error"), [(b"garbage", ValueError), ("text", TypeError)])
def test_from_bytes_validates(data: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match="data"):
        Checkpoint.from_bytes(data)


# -- metadata --------------------------------------------------------------------------------


def test_directory_metadata_lives_in_a_json_file(tmp_path: Path) -> None:
    checkpoint = Checkpoint(make_dir_checkpoint(tmp_path))
    assert checkpoint.get_metadata() == {}
    checkpoint.set_metadata({"epoch": 1, "tags": ["a"]})
    checkpoint.update_metadata({"epoch": 2, "best": True})
    expected = {"epoch": 2, "tags": ["a"], "best": True}
    assert checkpoint.get_metadata() == expected
    assert json.loads((tmp_path / "src_ckpt" / METADATA_FILE).read_text()) == expected
    # Another object on the same directory sees it; copies carry it.
    assert Checkpoint(checkpoint.path).get_metadata() == expected
    assert Checkpoint(checkpoint.to_directory(tmp_path / "copy")).get_metadata() == expected


def test_dict_metadata_is_in_memory_and_written_with_the_dict(tmp_path: Path) -> None:
    checkpoint = Checkpoint.from_dict({"a": 1})
    checkpoint.set_metadata({"k": "v"})
    returned = checkpoint.get_metadata()
    returned["k"] = "changed"
    assert checkpoint.get_metadata() == {"k": "v"}
    out = Checkpoint(checkpoint.to_directory(tmp_path / "d"))
    assert out.get_metadata() == {"k": "v"}
    assert out.to_dict() == {"a": 1}


@pytest.mark.parametrize("bad", [{"f": object()}, ["a"]])
def test_metadata_must_be_a_json_dict(bad: Any) -> None:
    with pytest.raises(TypeError, match="metadata"):
        Checkpoint.from_dict({}).set_metadata(bad)


def test_unreadable_metadata_file_raises(tmp_path: Path) -> None:
    (tmp_path / METADATA_FILE).write_text("{broken")
    with pytest.raises(TuneError, match=METADATA_FILE):
        Checkpoint(tmp_path).get_metadata()


# -- persist_checkpoint ------------------------------------------------------------------------


def test_persist_dict_checkpoint(tmp_path: Path) -> None:
    dest = tmp_path / "trial" / "checkpoint_000001"
    persisted = persist_checkpoint(Checkpoint.from_dict({"w": 1}), dest)
    assert persisted.path == str(dest)
    assert persisted.to_dict() == {"w": 1}


def test_persist_same_directory_does_nothing(tmp_path: Path) -> None:
    source = make_dir_checkpoint(tmp_path)
    checkpoint = Checkpoint(source)
    assert persist_checkpoint(checkpoint, source) is checkpoint
    assert source.exists()


def test_persist_copies_a_user_directory(tmp_path: Path) -> None:
    source = make_dir_checkpoint(tmp_path)
    dest = tmp_path / "trial" / "checkpoint_000002"
    persisted = persist_checkpoint(Checkpoint(source), dest)
    assert persisted.path == str(dest)
    assert read_tree(dest) == read_tree(source)
    assert not [p for p in os.listdir(dest.parent) if "partial" in p]


def test_persist_moves_a_tunelab_temp_directory(tmp_path: Path) -> None:
    temp = make_temp_checkpoint_dir()
    Path(temp, "f.txt").write_text("data")
    checkpoint = Checkpoint(temp)
    dest = tmp_path / "checkpoint_000003"
    persisted = persist_checkpoint(checkpoint, dest)
    assert not os.path.exists(temp)
    assert persisted.path == str(dest)
    assert checkpoint.path == str(dest)  # the caller's object still points at its files
    assert (dest / "f.txt").read_text() == "data"


def test_persist_move_flag_overrides(tmp_path: Path) -> None:
    source = make_dir_checkpoint(tmp_path)
    persist_checkpoint(Checkpoint(source), tmp_path / "moved", move=True)
    assert not source.exists()
    temp = make_temp_checkpoint_dir()
    try:
        persist_checkpoint(Checkpoint(temp), tmp_path / "copied", move=False)
        assert os.path.isdir(temp)
    finally:
        shutil.rmtree(temp)


def test_persist_into_existing_directory_merges(tmp_path: Path) -> None:
    source = make_dir_checkpoint(tmp_path)
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "existing.txt").write_text("keep")
    persist_checkpoint(Checkpoint(source), dest)
    assert (dest / "existing.txt").read_text() == "keep"
    assert (dest / "model.bin").exists()


def test_persist_validates(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="checkpoint"):
        persist_checkpoint({"a": 1}, tmp_path)  # type: ignore[arg-type]
    source = make_dir_checkpoint(tmp_path)
    with pytest.raises(ValueError, match="dest_dir"):
        persist_checkpoint(Checkpoint(source), source / "inner")


def test_checkpoint_pickles_small(tmp_path: Path) -> None:
    checkpoint = Checkpoint(make_dir_checkpoint(tmp_path))
    restored = pickle.loads(pickle.dumps(checkpoint))
    assert restored.path == checkpoint.path


def test_public_import_path() -> None:
    from tunelab.air.checkpoint import Checkpoint as AirCheckpoint

    assert AirCheckpoint is Checkpoint


def test_a_remote_checkpoint_is_read_through_one_local_copy(tmp_path):
    pytest.importorskip("fsspec")
    import uuid

    from tunelab._storage import upload

    local = tmp_path / "ck"
    Checkpoint.from_dict({"a": 1}).to_directory(local)
    (local / "extra.txt").write_text("hi")
    uri = f"memory://tl-{uuid.uuid4().hex[:8]}/exp/trial/checkpoint_000001"
    upload(local, uri)

    checkpoint = Checkpoint(uri)
    assert checkpoint.path == uri and checkpoint.is_remote
    assert checkpoint.to_dict() == {"a": 1}
    with checkpoint.as_directory() as directory:
        assert (Path(directory) / "extra.txt").read_text() == "hi"
    checkpoint.set_metadata({"step": 3})  # written back to the URI
    assert Checkpoint(uri).get_metadata() == {"step": 3}
    copy = checkpoint.to_directory(tmp_path / "copy")
    assert (Path(copy) / "extra.txt").read_text() == "hi"
    clone = pickle.loads(pickle.dumps(checkpoint))
    assert clone.path == uri and clone.to_dict() == {"a": 1}
    assert Checkpoint.from_directory(uri).path == uri
    with pytest.raises(ValueError, match="existing directory"):
        Checkpoint.from_directory(uri + "-missing")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        Checkpoint(uri + "-missing").to_dict()
