"""The one source of truth for class names, image geometry and file locations.

Nothing here imports TensorFlow or Qt, so every part of the program (and the
packaging scripts) can read it cheaply.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP_NAME = "cnn-desktop"
ORGANIZATION_NAME = "cnn-desktop"
ORGANIZATION_DOMAIN = "cnn-desktop.invalid"

CLASS_NAMES: tuple[str, ...] = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
NUM_CLASSES = len(CLASS_NAMES)
IMAGE_SIZE = 28
INPUT_SHAPE = (IMAGE_SIZE, IMAGE_SIZE, 1)

TRAIN_SIZE = 60_000
TEST_SIZE = 10_000

# Environment variable that points at a directory holding the four idx files.
DATA_ENV_VAR = "CNN_DESKTOP_DATA"
# Where Debian's `dataset-fashion-mnist` package installs the idx files.
SYSTEM_DATA_DIR = Path("/usr/share/datasets/fashion-mnist")
# Where `keras.datasets.fashion_mnist.load_data()` caches its download.
KERAS_CACHE_DIR = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "datasets" / "fashion-mnist"

DATA_HELP = (
    "Get Fashion-MNIST with `sudo apt-get install dataset-fashion-mnist` (Debian/Ubuntu), "
    f"or put the four idx files in a directory and pass --data-dir DIR or set {DATA_ENV_VAR}=DIR, "
    "or connect to the internet so Keras can download them."
)


def bundle_dir() -> Path:
    """Root of the installed program: the source tree, or PyInstaller's bundle."""
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        return Path(frozen_root)
    return Path(__file__).resolve().parent.parent


def resources_dir() -> Path:
    return bundle_dir() / "resources"


def bundled_data_dir() -> Path:
    """Dataset files shipped inside a packaged build (absent in a source checkout)."""
    return resources_dir() / "fashion-mnist"


def default_model_path() -> Path:
    return resources_dir() / "models" / "default.keras"


def icon_path() -> Path:
    return resources_dir() / "icons" / "cnn-desktop.png"


def user_models_dir() -> Path:
    """Where trained models are offered to be saved by default."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / APP_NAME / "models"
