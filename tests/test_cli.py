"""The command line, run as a user runs it: a real subprocess, real files, exit codes and output."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from cnn_desktop import __version__

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args, timeout=600):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run([sys.executable, "-m", "cnn_desktop", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=env, stdin=subprocess.DEVNULL, cwd=ROOT)


def assert_one_line_error(result):
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("cnn-desktop:")]
    assert errors, result.stderr
    return errors


def test_version():
    result = run_cli("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"cnn-desktop {__version__}"


def test_summary_of_seed_preset_shows_keras_total():
    result = run_cli("summary", "--preset", "seed")
    assert result.returncode == 0
    assert "Total params: 257,162" in result.stdout
    assert "conv2d_2" in result.stdout
    assert "Param #" in result.stdout and "200,768" in result.stdout  # no column cut off


def test_usage_errors_exit_2():
    assert run_cli("train", "--epochs", "zero").returncode == 2
    assert run_cli("train", "--preset", "giant").returncode == 2
    assert run_cli("frobnicate").returncode == 2


def test_classify_json_good_and_bad_files(tmp_path, quick_model_path, dataset):
    good = tmp_path / "trouser photo.png"
    Image.fromarray(255 - dataset.test_images[2]).resize((112, 112)).save(good)
    bad = tmp_path / "broken.png"
    bad.write_text("not an image")
    result = run_cli("classify", good, bad, "--model", quick_model_path, "--json")
    assert_one_line_error(result)
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 1
    record = lines[0]
    assert record["file"] == str(good)
    assert len(record["probabilities"]) == 10
    assert abs(sum(record["probabilities"]) - 1) < 1e-4
    assert record["label"] == "Trouser" and record["index"] == 1
    assert "broken.png" in result.stderr


def test_classify_with_bundled_model_by_default(default_model_path):
    samples = sorted((ROOT / "resources" / "samples").glob("*.png"))
    result = run_cli("classify", *samples)
    assert result.returncode == 0, result.stderr
    for sample in samples:
        line = next(line for line in result.stdout.splitlines() if line.startswith(str(sample)))
        assert sample.stem.replace("-", " ").lower() in line.lower()


def test_evaluate_json(quick_model_path):
    result = run_cli("evaluate", "--model", quick_model_path, "--json")
    assert result.returncode == 0, result.stderr
    numbers = json.loads(result.stdout)
    assert numbers["n"] == 10_000
    assert 0.5 < numbers["accuracy"] <= 1 and numbers["loss"] > 0


def test_broken_model_and_missing_data_are_one_line_errors(tmp_path):
    broken = tmp_path / "broken.keras"
    broken.write_bytes(b"PK\x03\x04 nonsense")
    errors = assert_one_line_error(run_cli("evaluate", "--model", broken))
    assert "broken.keras" in errors[0]
    errors = assert_one_line_error(run_cli("evaluate", "--model", tmp_path / "absent.keras"))
    assert "does not exist" in errors[0]
    errors = assert_one_line_error(run_cli("train", "--data-dir", tmp_path, "--limit", "100", "--epochs", "1",
                                           "--out", tmp_path / "m.keras"))
    assert "dataset-fashion-mnist" in errors[0]
    assert not (tmp_path / "m.keras").exists()


def test_train_saves_model_and_card(tmp_path):
    out = tmp_path / "models" / "tiny.keras"
    result = run_cli("train", "--preset", "seed", "--epochs", "1", "--limit", "2000", "--out", out)
    assert result.returncode == 0, result.stderr
    assert out.exists()
    card = json.loads(out.with_name("tiny.card.json").read_text())
    assert card["preset"] == "seed" and card["epochs"] == 1 and card["limit"] == 2000
    assert 0.3 < card["test_accuracy"] <= 1
    assert "Epoch 1/1" in result.stderr and "Saved" in result.stdout
    evaluated = json.loads(run_cli("evaluate", "--model", out, "--json").stdout)
    assert evaluated["accuracy"] == pytest.approx(card["test_accuracy"], abs=1e-6)


def test_diverging_training_saves_nothing(tmp_path):
    out = tmp_path / "bad.keras"
    result = run_cli("train", "--epochs", "1", "--limit", "1000", "--learning-rate", "10", "--out", out)
    errors = assert_one_line_error(result)
    assert "diverged" in errors[0]
    assert not out.exists()


# ---------------------------------------------------------------------- hostile paths and careless use (issue 13)


def run_cli_with_tensorflow_logging(*args, timeout=300, env=None):
    """As run_cli, but without the TF_CPP_MIN_LOG_LEVEL the other tests set: what a user sees."""
    clean = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    return subprocess.run([sys.executable, "-m", "cnn_desktop", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env={**clean, **(env or {})}, stdin=subprocess.DEVNULL, cwd=ROOT)


def test_endless_or_blocking_model_paths_are_one_line_errors_at_once(tmp_path):
    image = ROOT / "resources" / "samples" / "sneaker.png"
    zero = tmp_path / "z.keras"
    zero.symlink_to("/dev/zero")
    fifo = tmp_path / "f.keras"
    os.mkfifo(fifo)
    # The timeout is the bound: before, /dev/zero grew until the kernel killed it and the FIFO hung forever.
    for model, reason in ((zero, "not a regular file but a character device"),
                          (fifo, "not a regular file but a named pipe (FIFO)")):
        result = run_cli_with_tensorflow_logging("classify", image, "--model", model, timeout=60)
        assert result.returncode == 1
        assert result.stderr.splitlines() == [f"cnn-desktop: error: Model file {model} is {reason}"]


def test_tensorflow_start_up_lines_do_not_precede_the_error(tmp_path, quick_model_path):
    not_an_image = tmp_path / "notes.png"
    not_an_image.write_text("hello")
    result = run_cli_with_tensorflow_logging("classify", not_an_image, "--model", quick_model_path)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"cnn-desktop: {not_an_image}: “notes.png” is not an image that can be read (damaged, or not an image format)"]


def test_image_paths_that_are_devices_or_loops_say_so(tmp_path, quick_model_path):
    zero = tmp_path / "zero.png"
    zero.symlink_to("/dev/zero")
    loop = tmp_path / "loop.png"
    loop.symlink_to(loop)
    result = run_cli("classify", zero, loop, "--model", quick_model_path, timeout=120)
    assert result.returncode == 1
    assert "“zero.png” is not a regular file but a character device" in result.stderr
    assert "“loop.png” is a symbolic link loop" in result.stderr
    assert "empty (0 bytes)" not in result.stderr and "does not exist" not in result.stderr


def test_classify_into_a_closed_pipe_ends_quietly(quick_model_path):
    samples = sorted((ROOT / "resources" / "samples").glob("*.png")) * 40
    process = subprocess.Popen([sys.executable, "-m", "cnn_desktop", "classify", *map(str, samples), "--model",
                                str(quick_model_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               stdin=subprocess.DEVNULL, cwd=ROOT, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    first = process.stdout.readline()  # like `| head -1`: one line read, then the pipe is closed
    process.stdout.close()
    stderr = process.stderr.read().decode()
    returncode = process.wait(timeout=300)
    assert first.strip()
    assert returncode == 141, stderr
    assert stderr == ""


def test_negative_seed_is_a_usage_error():
    result = run_cli("train", "--seed", "-1")
    assert result.returncode == 2
    assert "--seed: must be between 0 and 4294967295, got -1" in result.stderr
    assert "Traceback" not in result.stderr


def test_unusable_out_is_refused_before_training(tmp_path):
    a_file = tmp_path / "file"
    a_file.write_text("x")
    folder = tmp_path / "folder.keras"
    folder.mkdir()
    for out, reason in ((a_file / "m.keras", f"{a_file} is not a folder"),
                        (folder, "is a directory"),
                        (tmp_path / "m.h5", "must end in .keras")):
        result = run_cli("train", "--epochs", "1", "--limit", "500", "--out", out, timeout=120)
        errors = assert_one_line_error(result)
        assert reason in errors[0]
        assert "Training preset" not in result.stderr  # refused before any training


def test_unwritable_home_is_refused_before_training(tmp_path):
    # /proc/1 cannot hold new folders, even for root.
    env = {key: value for key, value in os.environ.items() if key != "XDG_DATA_HOME"}
    result = subprocess.run([sys.executable, "-m", "cnn_desktop", "train", "--epochs", "1", "--limit", "500"],
                            capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL, cwd=ROOT,
                            env={**env, "HOME": "/proc/1", "TF_CPP_MIN_LOG_LEVEL": "3"})
    errors = [line for line in assert_one_line_error(result) if line.startswith("cnn-desktop: error:")]
    assert len(errors) == 1 and "cannot create the folder /proc/1/.local/share/cnn-desktop/models" in errors[0]
    assert "Training preset" not in result.stderr


def test_a_newline_in_a_file_name_cannot_forge_an_output_line(tmp_path, quick_model_path):
    forged = tmp_path / "x\nSneaker 100%.png"
    shutil.copy(ROOT / "resources" / "samples" / "bag.png", forged)
    broken = tmp_path / "y\ncnn-desktop: all fine.png"
    broken.write_text("not an image")
    result = run_cli("classify", forged, broken, "--model", quick_model_path)
    assert result.returncode == 1
    assert len(result.stdout.splitlines()) == 1 and result.stdout.startswith(f"{tmp_path}/x\\nSneaker 100%.png: ")
    assert len(result.stderr.splitlines()) == 1 and "y\\ncnn-desktop: all fine.png" in result.stderr
