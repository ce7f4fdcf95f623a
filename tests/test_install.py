"""What `pip install -e .` gives: one TensorFlow distribution (two would
overwrite each other's files) and the `tensorboard` command."""
import os
import shutil
import sys
from importlib import metadata

TENSORFLOW_DISTRIBUTIONS = ("tensorflow", "tensorflow-cpu", "tensorflow-intel",
                            "tensorflow-macos", "tf-nightly", "tf-nightly-cpu")


def _installed(name):
  try:
    metadata.version(name)
    return True
  except metadata.PackageNotFoundError:
    return False


def test_exactly_one_tensorflow_distribution():
  found = [name for name in TENSORFLOW_DISTRIBUTIONS if _installed(name)]
  assert found == ["tensorflow"], found


def test_setup_asks_for_tensorflow_and_tensorboard_only_once():
  requires = metadata.requires("slim-med") or []
  base = [r for r in requires if "extra ==" not in r]
  names = [r.split("=")[0].split(";")[0].split(">")[0].split("<")[0].strip()
           for r in base]
  assert names.count("tensorflow") == 1 and "tensorflow-cpu" not in names
  assert "tensorboard" in names


def test_tensorboard_command_is_installed():
  here = os.path.join(os.path.dirname(sys.executable), "tensorboard")
  assert os.path.exists(here) or shutil.which("tensorboard")
