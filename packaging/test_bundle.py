"""End-to-end test of the packaged program: build it, then run the executable the way a user would.

Run it explicitly (the normal test run, `pytest`, only collects tests/):

    python packaging/test_bundle.py            # builds dist/cnn-desktop, then tests it
    pytest packaging/test_bundle.py            # the same

Environment:
    CNN_DESKTOP_BUNDLE_REUSE=1      test the existing dist/ instead of building (e.g. right after build.py)
    CNN_DESKTOP_BUNDLE_MODEL=PATH   build with --model PATH instead of resources/models/default.keras

Every run of the executable is from a temporary directory outside the source tree, with an environment
that has no Python in it (no VIRTUAL_ENV, PYTHONPATH or PYTHONHOME; PATH without the virtual environment),
a temporary HOME, and no display: what a freshly unpacked download on another machine sees.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

PACKAGING = Path(__file__).resolve().parent
ROOT = PACKAGING.parent
sys.path.insert(0, str(PACKAGING))
sys.path.insert(0, str(ROOT))

import build  # noqa: E402  (packaging/build.py)

from cnn_desktop import __version__, config  # noqa: E402

DIST = ROOT / "dist"
RUN_TIMEOUT = 600
SAMPLES = {"sneaker.png": "Sneaker", "trouser.png": "Trouser", "bag.png": "Bag"}


@pytest.fixture(scope="session")
def bundle() -> Path:
    """The built folder dist/cnn-desktop (built by this session unless CNN_DESKTOP_BUNDLE_REUSE=1)."""
    folder = DIST / build.APP
    if os.environ.get("CNN_DESKTOP_BUNDLE_REUSE") == "1":
        if not (folder / build.APP).is_file():
            pytest.fail(f"CNN_DESKTOP_BUNDLE_REUSE=1 but {folder / build.APP} does not exist; run packaging/build.py")
    else:
        options = []
        if os.environ.get("CNN_DESKTOP_BUNDLE_MODEL"):
            options += ["--model", os.environ["CNN_DESKTOP_BUNDLE_MODEL"]]
        started = time.perf_counter()
        subprocess.run([sys.executable, str(PACKAGING / "build.py"), *options], check=True, cwd=ROOT)
        print(f"\nbuild took {time.perf_counter() - started:.0f} s")
    return folder


@pytest.fixture
def user_home(tmp_path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    return home


def clean_env(home: Path) -> dict[str, str]:
    """No Python environment, no display, no dataset hints: only what any desktop session has."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }


def run(executable: Path, *args: str, home: Path, cwd: Path) -> subprocess.CompletedProcess:
    assert not str(cwd).startswith(str(ROOT)), "must run outside the source tree"
    return subprocess.run([str(executable), *args], cwd=cwd, env=clean_env(home), capture_output=True, text=True,
                          timeout=RUN_TIMEOUT)


def test_build_has_everything_it_needs_and_little_else(bundle):
    internal = bundle / "_internal"
    assert os.access(bundle / build.APP, os.X_OK)
    for name in ("cnn-desktop.desktop", "install.sh", "cnn-desktop.png", "README-install.md"):
        assert (bundle / name).is_file(), name
    resources = internal / "resources"
    assert (resources / "models" / "default.keras").is_file()
    for sample in SAMPLES:
        assert (resources / "samples" / sample).is_file()
    assert (resources / "icons" / "cnn-desktop.png").is_file()
    assert sorted(p.name for p in (resources / "fashion-mnist").iterdir()) == sorted(
        f"{stem}.gz" for stem in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
                                  "train-images-idx3-ubyte", "train-labels-idx1-ubyte"))
    plugins = internal / "PySide6" / "Qt" / "plugins"
    for plugin in ("platforms/libqxcb.so", "platforms/libqoffscreen.so", "platforms/libqwayland.so",
                   "imageformats/libqjpeg.so"):
        assert (plugins / plugin).is_file(), plugin
    # Left out: Qt Quick/QML, test frameworks, Tk, SciPy, Qt's translations.
    leftovers = [p for p in ("PySide6/Qt/lib/libQt6Quick.so.6", "PySide6/Qt/lib/libQt6Qml.so.6", "PySide6/QtQml.abi3.so",
                             "PySide6/Qt/translations", "_tkinter", "scipy", "pytest", "_pytest")
                 if (internal / p).exists()]
    assert leftovers == []
    # Installed into /opt by root, every user must be able to read it.
    private = [p for p in bundle.rglob("*") if not p.is_symlink() and not p.stat().st_mode & 0o004]
    assert private == []


def test_self_test_passes_outside_the_source_tree(bundle, user_home, tmp_path):
    started = time.perf_counter()
    result = run(bundle / build.APP, "--self-test", home=user_home, cwd=tmp_path)
    wall = time.perf_counter() - started
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("self-test passed"), result.stdout
    assert "Qt platform offscreen" in result.stdout
    print(f"\nself-test: {wall:.1f} s wall; {result.stdout.strip()}")


@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="needs xvfb-run (Debian package xvfb)")
def test_self_test_on_an_x11_display(bundle, user_home, tmp_path):
    """The xcb platform plugin and its libraries load: the same self-test in a real (virtual) X server."""
    env = clean_env(user_home) | {"QT_QPA_PLATFORM": "xcb"}
    result = subprocess.run(["xvfb-run", "-a", str(bundle / build.APP), "--self-test"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=RUN_TIMEOUT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Qt platform xcb" in result.stdout


def test_version(bundle, user_home, tmp_path):
    result = run(bundle / build.APP, "--version", home=user_home, cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.strip() == f"cnn-desktop {__version__}"


def test_classify_json_on_image_files(bundle, user_home, tmp_path):
    # Copies under other names in a directory of their own: the classes come from the pixels.
    images = tmp_path / "photos"
    images.mkdir()
    files = {}
    for number, (sample, expected) in enumerate(SAMPLES.items()):
        copy = images / f"photo {number}.png"
        shutil.copy(config.resources_dir() / "samples" / sample, copy)
        files[copy.name] = expected
    result = run(bundle / build.APP, "classify", "--json", *sorted(files), home=user_home, cwd=images)
    assert result.returncode == 0, result.stderr
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert {answer["file"]: answer["label"] for answer in answers} == files
    for answer in answers:
        assert len(answer["probabilities"]) == config.NUM_CLASSES
        assert abs(sum(answer["probabilities"]) - 1) < 1e-3


def test_classify_reports_a_broken_image_in_one_line(bundle, user_home, tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"this is not a picture")
    result = run(bundle / build.APP, "classify", str(broken), home=user_home, cwd=tmp_path)
    assert result.returncode == 1
    assert "broken.png" in result.stderr and "Traceback" not in result.stderr


def test_summary(bundle, user_home, tmp_path):
    result = run(bundle / build.APP, "summary", "--preset", "fast", home=user_home, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Conv2D" in result.stdout


def test_train_and_evaluate_offline_with_the_bundled_dataset(bundle, user_home, tmp_path):
    """The dataset comes from inside the bundle (searched before any system copy); the model saves and loads."""
    out = tmp_path / "small.keras"
    result = run(bundle / build.APP, "--verbose", "train", "--limit", "600", "--epochs", "1", "--out", str(out),
                 home=user_home, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    bundled_data = bundle.resolve() / "_internal" / "resources" / "fashion-mnist"
    assert f"Loading Fashion-MNIST from {bundled_data}" in result.stderr
    assert out.is_file() and out.with_name("small.card.json").is_file()
    assert "Saved" in result.stdout

    result = run(bundle / build.APP, "evaluate", "--json", "--model", str(out), home=user_home, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    evaluation = json.loads(result.stdout)
    assert evaluation["n"] == config.TEST_SIZE
    assert evaluation["accuracy"] > 0.3  # 600 images, one epoch: far better than chance (0.1)


def test_archive_unpacks_elsewhere_runs_and_installs_its_menu_entry(bundle, user_home, tmp_path):
    archive = DIST / build.archive_name()
    assert archive.is_file()
    place = tmp_path / "Downloaded Apps"  # a space in the path, as users' folders often have
    place.mkdir()
    subprocess.run(["tar", "-xzf", str(archive), "-C", str(place)], check=True)
    unpacked = place / f"cnn-desktop-{__version__}"
    assert sorted(p.name for p in place.iterdir()) == [unpacked.name]

    result = run(unpacked / build.APP, "--self-test", home=user_home, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr

    result = subprocess.run([str(unpacked / "install.sh")], cwd=tmp_path, env=clean_env(user_home),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    entry = user_home / ".local" / "share" / "applications" / "cnn-desktop.desktop"
    lines = entry.read_text().splitlines()
    assert f'Exec="{unpacked / build.APP}"' in lines
    assert f"TryExec={unpacked / build.APP}" in lines
    assert "Icon=cnn-desktop" in lines and "Categories=Education;Science;" in lines
    for size in (16, 32, 48, 64, 128, 256):
        assert (user_home / ".local" / "share" / "icons" / "hicolor" / f"{size}x{size}" / "apps"
                / "cnn-desktop.png").is_file(), size
    if shutil.which("desktop-file-validate"):
        check = subprocess.run(["desktop-file-validate", str(entry)], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr

    result = subprocess.run([str(unpacked / "install.sh"), "--uninstall"], cwd=tmp_path, env=clean_env(user_home),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert not entry.exists()


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-v", "-s", "-p", "no:cacheprovider", *sys.argv[1:]]))
