"""One command-line convention (docs/cli-convention.md): exit 0 when every input is done,
1 when some inputs failed (each with its reason), 2 for a usage mistake; a mistake in the
paths is found before any work starts; help texts read as plain text."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from retvis.cli import COMMANDS, build_parser, main
from tests.conftest import REPO, demo


def _run(argv, capsys):
    rc = main(argv)
    return rc, capsys.readouterr().err


def test_every_sub_command_prints_plain_help(capsys):
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert set(sub.choices) == set(COMMANDS)
    for name in COMMANDS:
        with pytest.raises(SystemExit) as exc:
            main([name, "--help"])
        assert exc.value.code == 0
        text = capsys.readouterr().out
        assert "``" not in text and ":func:`" not in text and ":class:`" not in text, name
        assert "-o" in text or name == "app", name


def test_an_output_folder_where_a_file_belongs_is_refused_before_any_work(tmp_path, capsys):
    folder = tmp_path / "ranking.csv"
    folder.mkdir()
    t0 = time.perf_counter()
    rc, err = _run(["predict", str(demo("PEKKAS_clean")), "-o", str(folder)], capsys)
    assert rc == 2 and "is a folder" in err and "give a file name" in err
    assert time.perf_counter() - t0 < 5  # before the model and any grid
    assert list(folder.iterdir()) == []
    for argv in (
        ["descriptors", str(demo("PEKKAS_clean")), "-o", str(folder)],
        ["render", str(demo("PEKKAS_clean")), "-o", str(tmp_path)],
        ["screen", str(demo("PEKKAS_clean")), "-o", str(tmp_path / "r"), "--rank", str(folder)],
    ):
        if argv[0] == "render":
            argv[-1] = str(_png_folder(tmp_path))
        rc, err = _run(argv, capsys)
        assert rc == 2 and "is a folder" in err, (argv[0], err)


def _png_folder(tmp_path):
    d = tmp_path / "scene.png"
    d.mkdir(exist_ok=True)
    return d


def test_a_file_where_an_output_folder_belongs_is_refused(tmp_path, capsys):
    afile = tmp_path / "grids"
    afile.write_text("not a folder")
    for argv in (
        ["grid", str(demo("PEKKAS_clean")), "-o", str(afile)],
        ["screen", str(demo("PEKKAS_clean")), "-o", str(afile), "--workers", "0"],
    ):
        rc, err = _run(argv, capsys)
        assert rc == 2 and "is a file" in err, (argv[0], err)
    assert afile.read_text() == "not a folder"


def test_training_and_labelling_outputs_are_checked_before_any_work(tmp_path, capsys):
    """train, learning-curve and evaluate write folders, label appends to a CSV: a wrong
    kind of path is a usage error before any grid is read or GCMC started."""
    afile = tmp_path / "run"
    afile.write_text("not a folder")
    folder = tmp_path / "labels.csv"
    folder.mkdir()
    nowhere = str(tmp_path / "missing")
    for argv in (
        ["train", nowhere, nowhere, "-o", str(afile)],
        ["learning-curve", nowhere, nowhere, "-o", str(afile)],
        ["evaluate", nowhere, nowhere, nowhere, "-o", str(afile)],
    ):
        rc, err = _run(argv, capsys)
        assert rc == 2 and "is a file" in err, (argv[0], err)
    rc, err = _run(["label", str(demo("PEKKAS_clean")), "-o", str(folder)], capsys)
    assert rc == 2 and "is a folder" in err, err
    assert afile.read_text() == "not a folder" and list(folder.iterdir()) == []


@pytest.mark.parametrize("command", ["predict", "grid", "descriptors", "screen"])
def test_no_input_or_a_path_that_is_not_there_is_a_usage_error(command, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    out = ["-o", str(tmp_path / ("out.csv" if command in ("predict", "descriptors") else "out"))]
    extra = ["--workers", "0"] if command == "screen" else []
    rc, err = _run([command, str(empty), *out, *extra], capsys)
    assert rc == 2 and "no CIF files" in err, err
    rc, err = _run(
        [command, str(demo("PEKKAS_clean")), str(tmp_path / "typo"), *out, *extra], capsys
    )
    assert rc == 2 and "no such file or folder" in err and "typo" in err, err


def test_screen_exits_1_when_some_inputs_failed(tmp_path, capsys):
    bad = tmp_path / "bad.cif"
    bad.write_text("data_x\n_cell_length_a 10\n")
    rc, _ = _run(
        [
            "screen",
            str(demo("PEKKAS_clean")),
            str(bad),
            "-o",
            str(tmp_path / "r"),
            "--workers",
            "0",
            "-q",
        ],
        capsys,
    )
    assert rc == 1


def test_the_app_without_a_display_says_so_and_exits_2():
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }
    r = subprocess.run(
        [sys.executable, "-m", "retvis", "app", "--demo"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 2, r.stderr
    assert "no display" in r.stderr and "xvfb-run" in r.stderr


def test_predict_and_screen_rank_with_the_same_column_names(tmp_path, capsys):
    files = [str(demo("PEKKAS_clean")), str(demo("SENWAL_clean"))]
    assert main(["predict", *files, "-o", str(tmp_path / "p.csv"), "-q", "--no-cache"]) == 0
    assert main(["screen", *files, "-o", str(tmp_path / "s"), "--workers", "0", "-q",
                 "--rank", str(tmp_path / "s.csv")]) == 0  # fmt: skip
    import csv

    p = list(csv.DictReader((tmp_path / "p.csv").open()))
    s = list(csv.DictReader((tmp_path / "s.csv").open()))
    common = ["rank", "name", "prediction", "ensemble_std", "units", "formula", "n_atoms",
              "crystal", "path", "note"]  # fmt: skip
    assert list(s[0]) == common and set(common) <= set(p[0])
    by_name = {r["name"]: r for r in p}
    for r in s:
        q = by_name[r["name"]]
        for c in ("rank", "ensemble_std", "units", "formula", "n_atoms", "crystal"):
            assert r[c] == q[c], c


def test_every_command_that_runs_a_model_takes_the_same_model_option():
    from retvis.paths import DEFAULT_MODEL

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    seen = []
    for name, p in sub.choices.items():
        for action in p._actions:
            if action.dest == "model":
                assert action.option_strings == ["-m", "--model"], name
                assert action.default == DEFAULT_MODEL, name
                seen.append(name)
    assert {"predict", "screen", "render"} <= set(seen)


def test_a_local_folder_named_like_a_shipped_model_does_not_shadow_it(tmp_path, monkeypatch):
    from retvis.ml.weights import resolve_model
    from retvis.paths import DEFAULT_MODEL, models_dir

    (tmp_path / DEFAULT_MODEL).mkdir()  # e.g. a folder of the user's own results
    monkeypatch.chdir(tmp_path)
    assert resolve_model(DEFAULT_MODEL) == models_dir() / DEFAULT_MODEL
    with pytest.raises(Exception, match="no model.json"):
        resolve_model(f"./{DEFAULT_MODEL}")  # the folder, when asked for by path


def test_every_sub_command_takes_json_and_a_summary_is_one_json_object(tmp_path, capsys):
    """--json on every sub-command but app; where a command ends with a summary, stdout
    holds exactly one JSON object and the sentence for people goes to stderr."""
    import json

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, p in sub.choices.items():
        assert ("--json" in p._option_string_actions) == (name != "app"), name
    cif = str(demo("PEKKAS_clean"))
    runs = {
        "predict": ["predict", cif, "-o", str(tmp_path / "r.csv")],
        "grid": ["grid", cif, "--n", "8", "-o", str(tmp_path / "g")],
        "screen": ["screen", cif, "--workers", "0", "-o", str(tmp_path / "s")],
        "render": ["render", cif, "--size", "160x120", "-o", str(tmp_path / "x.png")],
    }
    for name, argv in runs.items():
        assert main([*argv, "--json", "-q"] if name == "predict" else [*argv, "--json"]) == 0
        out, err = capsys.readouterr()
        lines = [line for line in out.splitlines() if line.strip()]
        assert len(lines) == 1, (name, out)
        got = json.loads(lines[0])
        assert got["command"] == name and "out" in got, got
        assert got.get("failed", 0) == 0 and str(tmp_path) in err, (name, err)


def test_a_temperature_is_spelled_alike_everywhere(tmp_path, capsys):
    """298 and 298K in grid and render as in label; another unit is a usage error."""
    import json

    cif = str(demo("PEKKAS_clean"))
    for t in ("77K", "77"):
        out = tmp_path / t
        assert main(["grid", cif, "--n", "6", "--temperature", t, "-o", str(out)]) == 0
        assert json.loads((out / "gridspec.json").read_text())["temperature"] == 77.0
    with pytest.raises(SystemExit) as exc:
        main(["grid", cif, "--temperature", "77C", "-o", str(tmp_path / "c")])
    assert exc.value.code == 2 and "kelvin" in capsys.readouterr().err


def test_render_refuses_grid_options_a_model_scene_would_ignore(tmp_path, capsys):
    """Features and saliency use the model's grid settings: --n there was silently
    ignored; now it is a usage error that says which flags apply where."""
    cif = str(demo("PEKKAS_clean"))
    for show in ("features", "saliency"):
        argv = ["render", cif, "--show", show, "--n", "16", "--probe", "CO2"]
        rc, err = _run([*argv, "-o", str(tmp_path / "x.png")], capsys)
        assert rc == 2 and "--n, --probe apply to --show grid only" in err, err
    assert not (tmp_path / "x.png").exists()
