"""Editors' files are data, not programs: a YAML bomb, anchors, deep nesting, huge files and symlinks out of
the folder are refused with ``file:line`` problems, by ``load_folder`` and by ``intents check`` alike."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from bot.cli import main
from bot.content.loader import ContentError, load_folder
from bot.content.stoppable import load_unless_stopped
from bot.content.yamlio import MAX_DEPTH, MAX_FILE_BYTES
from tests.content.conftest import DEFAULTS, MakeFolder

# Nine levels of nine aliases: 9**9 (387 million) strings once expanded. main took 43 s and died of
# MemoryError; refused while composing, it costs nothing.
BOMB = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{name}: &{name} [{','.join(['*' + prev] * 9)}]\n"
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
)

ANCHORED = """\
variables:
  company: Beispiel
  hotline: &hotline "0800 123"
  support: *hotline
"""


def _problems(folder: Path) -> list[str]:
    with pytest.raises(ContentError) as caught:
        load_folder(folder, defaults=DEFAULTS)
    return [str(p) for p in caught.value.problems]


def _check(folder: Path, capsys: pytest.CaptureFixture[str]) -> str:
    code = main(["intents", "check", str(folder)])
    captured = capsys.readouterr()
    assert code == 1
    return captured.out + captured.err


def test_a_yaml_bomb_is_refused_at_its_first_anchor(
    make_folder: MakeFolder, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = make_folder(files={"bomb.yaml": BOMB})
    (problem,) = _problems(folder)
    assert problem.startswith(f"{folder / 'bomb.yaml'}:1: (yaml): YAML anchors ('&a') are not supported")
    assert f"{folder / 'bomb.yaml'}:1:" in _check(folder, capsys)


def test_anchors_and_aliases_are_refused_with_their_line(make_folder: MakeFolder) -> None:
    folder = make_folder(files={"variables2.yaml": ANCHORED})
    (problem,) = _problems(folder)
    assert "variables2.yaml:3: (yaml): YAML anchors ('&hotline')" in problem
    alias_only = make_folder(files={"more.yaml": "variables:\n  a: b\n  c: *nothing\n"})
    (problem,) = _problems(alias_only)
    assert "more.yaml:3: (yaml): YAML aliases ('*nothing') are not supported" in problem
    assert "put it in quotes" in problem


def test_deep_nesting_is_refused_without_a_recursion_error(
    make_folder: MakeFolder, capsys: pytest.CaptureFixture[str]
) -> None:
    deep = "x: " + "[" * 1_000_000 + "]" * 1_000_000 + "\n"  # 2 MB, under the size limit
    folder = make_folder(files={"deep.yaml": deep})
    (problem,) = _problems(folder)
    assert f"deep.yaml:1: (yaml): lists and mappings are nested more than {MAX_DEPTH} levels" in problem
    out = _check(folder, capsys)
    assert "RecursionError" not in out and "nested more than" in out
    indented = "x:\n" + "".join(" " * (2 * i + 2) + f"k{i}:\n" for i in range(200))  # block nesting
    folder = make_folder(files={"deep.yaml": indented})
    (problem,) = _problems(folder)
    assert f"deep.yaml:{MAX_DEPTH + 1}: (yaml): lists and mappings are nested more than" in problem


def test_nesting_up_to_the_limit_is_fine(make_folder: MakeFolder) -> None:
    nested = "x: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "\n"
    folder = make_folder(files={"nested.yaml": nested})
    # Not an intents file, but the YAML is read: the complaint is about the key, not the nesting.
    assert not any("nested more than" in p for p in _problems(folder))


def test_a_file_over_the_size_limit_is_not_read(
    make_folder: MakeFolder, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = make_folder()
    with (folder / "huge.yaml").open("w", encoding="utf-8") as out:
        out.write("# " + "x" * 1000 + "\n")
        out.truncate(MAX_FILE_BYTES + 1)
    (problem,) = _problems(folder)
    assert f"{folder / 'huge.yaml'}:1: (file): is 5.0 MB; an intents file may be at most 5 MB" in problem
    assert "at most 5 MB" in _check(folder, capsys)


def test_a_symlink_out_of_the_folder_is_not_followed(
    make_folder: MakeFolder, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = tmp_path / "secret.yaml"
    secret.write_text("variables:\n  leaked: 'password=hunter2'\n", encoding="utf-8")
    folder = make_folder()
    os.symlink(secret, folder / "innocent.yaml")
    (problem,) = _problems(folder)
    assert (
        f"{folder / 'innocent.yaml'}:1: (file): is a symbolic link to {secret.resolve()}, outside" in problem
    )
    out = _check(folder, capsys)
    assert "outside the intents folder" in out and "hunter2" not in out


def test_a_symlink_inside_the_folder_is_read(make_folder: MakeFolder) -> None:
    folder = make_folder()
    (folder / "shared").mkdir()
    (folder / "intents").rename(folder / "shared" / "intents")
    os.symlink(folder / "shared" / "intents", folder / "intents")
    assert load_folder(folder, defaults=DEFAULTS).content.intents


async def test_a_stop_request_wins_over_a_load_in_progress(make_folder: MakeFolder) -> None:
    """SIGTERM during start-up: the bot must not wait for a (big, slow) folder to finish loading."""
    folder = make_folder()
    stop = asyncio.Event()
    stop.set()
    assert await load_unless_stopped(folder, stop) is None
    assert (await load_unless_stopped(folder, asyncio.Event())) is not None
    with pytest.raises(ContentError):
        await load_unless_stopped(folder / "missing", asyncio.Event())


async def test_a_bomb_dropped_into_the_running_bots_folder_keeps_the_last_good_version(
    make_folder: MakeFolder,
) -> None:
    """main's running bot slowed to seconds per answer while it expanded the file on every reload."""
    from bot.content.reload import ContentWatcher

    folder = make_folder()
    good = load_folder(folder, defaults=DEFAULTS)
    watcher = ContentWatcher(folder, initial=good, defaults=DEFAULTS)
    (folder / "bomb.yaml").write_text(BOMB, encoding="utf-8")
    outcome = await watcher.check_now()
    assert outcome.status == "failed" and outcome.current is good and outcome.error is not None
    assert "YAML anchors ('&a')" in str(outcome.error)
