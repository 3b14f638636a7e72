"""Build the packaged program: ``python packaging/build.py [--model PATH] [--without-data]``.

Produces
  dist/cnn-desktop/                                  the one-folder build; run dist/cnn-desktop/cnn-desktop
  dist/cnn-desktop-<version>-linux-x86_64.tar.gz     the same folder as cnn-desktop-<version>/, with the desktop
                                                     entry, icon, install.sh and install notes
  dist/build-info.json                               build time and sizes (docs/packaging.md quotes them)

Run it with the project's virtual environment (PyInstaller and the app's dependencies installed there).
Everything the program needs is bundled: TensorFlow, Qt and its plugins, the default model, icons, samples
and (unless --without-data) the Fashion-MNIST files; nothing is fetched at run time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

PACKAGING = Path(__file__).resolve().parent
ROOT = PACKAGING.parent
sys.path.insert(0, str(ROOT))

from cnn_desktop import __version__  # noqa: E402

APP = "cnn-desktop"
DEFAULT_MODEL = ROOT / "resources" / "models" / "default.keras"
# Files copied next to the executable (and so into the archive): menu entry, its icon, installer, notes.
EXTRAS = {
    PACKAGING / "cnn-desktop.desktop": "cnn-desktop.desktop",
    PACKAGING / "install.sh": "install.sh",
    PACKAGING / "README-install.md": "README-install.md",
    ROOT / "resources" / "icons" / "cnn-desktop.png": "cnn-desktop.png",
}
# TensorFlow's libraries ship with their full symbol tables (over 200 MB); the dynamic symbols that loading
# needs stay after `strip --strip-unneeded`. Other libraries are left alone: they are already stripped, and
# some (patched by auditwheel) do not survive strip.
STRIP_GLOBS = ("tensorflow/*.so*", "tensorflow/python/*.so", "tensorflow/python/**/*.so",
               "tensorflow/compiler/**/*.so", "tensorflow/lite/**/*.so")


def archive_name(version: str = __version__) -> str:
    return f"{APP}-{version}-linux-{platform.machine()}.tar.gz"


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def run_pyinstaller(dist: Path, work: Path, spec_options: list[str]) -> None:
    command = [sys.executable, "-m", "PyInstaller", str(PACKAGING / "cnn-desktop.spec"), "--noconfirm",
               "--log-level", "WARN", "--distpath", str(dist), "--workpath", str(work), "--", *spec_options]
    print("packaging: " + " ".join(command), flush=True)
    subprocess.run(command, check=True, cwd=ROOT)


def strip_tensorflow(internal: Path) -> int:
    """Strip the symbol tables from TensorFlow's shared libraries; returns the bytes saved."""
    strip = shutil.which("strip")
    if strip is None:
        print("packaging: `strip` not found (binutils); TensorFlow's libraries stay unstripped", flush=True)
        return 0
    saved = 0
    seen: set[Path] = set()
    for pattern in STRIP_GLOBS:
        for path in internal.glob(pattern):
            if path in seen or path.is_symlink() or not path.is_file():
                continue
            seen.add(path)
            before = path.stat().st_size
            subprocess.run([strip, "--strip-unneeded", str(path)], check=True)
            saved += before - path.stat().st_size
    return saved


def add_extras(folder: Path) -> None:
    for source, name in EXTRAS.items():
        shutil.copy2(source, folder / name)
    (folder / "install.sh").chmod(0o755)


def normalize_permissions(folder: Path) -> None:
    """Readable by everyone, writable by the owner: source files may be private (e.g. a model saved 0600),
    and an install into /opt must work for every user."""
    for path in [folder, *folder.rglob("*")]:
        if path.is_symlink():
            continue
        executable = path.is_dir() or path.stat().st_mode & 0o111
        path.chmod(0o755 if executable else 0o644)


def _neutral_owner(member: tarfile.TarInfo) -> tarfile.TarInfo:
    member.uid = member.gid = 0
    member.uname = member.gname = ""
    return member


def make_archive(folder: Path, archive: Path, version: str) -> None:
    """tar.gz of the folder, unpacking to ``cnn-desktop-<version>/``; symlinks kept as symlinks."""
    partial = archive.with_name(archive.name + ".partial")
    with tarfile.open(partial, "w:gz", compresslevel=6) as tar:
        tar.add(folder, arcname=f"{APP}-{version}", filter=_neutral_owner)
    partial.replace(archive)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the one-folder program dist/cnn-desktop/ and its "
                                     "archive dist/cnn-desktop-<version>-linux-<machine>.tar.gz.")
    parser.add_argument("--model", type=Path, help="bundle this .keras file as the default model "
                        "(default: resources/models/default.keras)")
    parser.add_argument("--without-data", action="store_true", help="do not bundle the Fashion-MNIST files")
    parser.add_argument("--data-dir", type=Path, help="take the Fashion-MNIST files from DIR "
                        "(default: wherever the app's loader finds them)")
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="output directory (default: dist/)")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "pyinstaller",
                        help="PyInstaller's work directory (default: build/pyinstaller/)")
    parser.add_argument("--no-strip", action="store_true", help="keep TensorFlow's symbol tables")
    parser.add_argument("--no-archive", action="store_true", help="build the folder only")
    args = parser.parse_args(argv)

    if sys.platform != "linux":
        parser.error("this build script makes the Linux package; PyInstaller builds for the system it runs on")
    try:
        import PyInstaller  # noqa: F401
    except ImportError:
        parser.error(f"PyInstaller is not installed for {sys.executable}; run this script with the project's "
                     "virtual environment, after `pip install -e '.[package]'`")
    model = args.model or DEFAULT_MODEL
    if not model.is_file():
        parser.error(f"the model to bundle, {model}, does not exist: train it first (see README) or pass --model PATH")
    spec_options = []
    if args.model:
        spec_options += ["--model", str(args.model.resolve())]
    if args.without_data:
        spec_options.append("--without-data")
    if args.data_dir:
        spec_options += ["--data-dir", str(args.data_dir.resolve())]

    started = time.perf_counter()
    run_pyinstaller(args.dist, args.work, spec_options)
    pyinstaller_seconds = time.perf_counter() - started
    folder = args.dist / APP
    saved = 0 if args.no_strip else strip_tensorflow(folder / "_internal")
    add_extras(folder)
    normalize_permissions(folder)
    info = {
        "version": __version__,
        "folder": str(folder),
        "folder_bytes": folder_size(folder),
        "stripped_bytes": saved,
        "with_data": not args.without_data,
        "model": str(model),
        "pyinstaller_seconds": round(pyinstaller_seconds, 1),
    }
    if not args.no_archive:
        archive = args.dist / archive_name()
        archive_started = time.perf_counter()
        make_archive(folder, archive, __version__)
        info.update(archive=str(archive), archive_bytes=archive.stat().st_size,
                    archive_seconds=round(time.perf_counter() - archive_started, 1))
    info["total_seconds"] = round(time.perf_counter() - started, 1)
    (args.dist / "build-info.json").write_text(json.dumps(info, indent=2) + "\n")

    mib = 1024 * 1024
    print(f"packaging: built {folder}/{APP} in {info['total_seconds']:.0f} s "
          f"(PyInstaller {info['pyinstaller_seconds']:.0f} s); folder {info['folder_bytes'] / mib:,.0f} MiB"
          + (f" after stripping {saved / mib:,.0f} MiB" if saved else ""), flush=True)
    if "archive" in info:
        print(f"packaging: archive {info['archive']} {info['archive_bytes'] / mib:,.0f} MiB "
              f"({info['archive_seconds']:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except subprocess.CalledProcessError as exc:
        print(f"packaging: failed: {exc}", file=sys.stderr)
        sys.exit(1)
