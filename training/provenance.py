"""What produced a train_dir: flags, code version, library versions, data."""
import datetime
import json
import os
import platform
import subprocess
import sys

import tensorflow as tf

from datasets import dataset_info as info_lib

FLAGS_FILENAME = "flags.json"
PROVENANCE_FILENAME = "provenance.json"
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _dist_version(name):
  try:
    from importlib import metadata
    return metadata.version(name)
  except Exception:
    return None


def _package_version():
  version = _dist_version("slim-med")
  if version:
    return version
  try:  # running from a checkout: setup.py's version
    import re
    with open(os.path.join(REPO_ROOT, "setup.py")) as f:
      match = re.search(r'version="([^"]+)"', f.read())
    return match.group(1) + " (checkout)" if match else None
  except OSError:
    return None


def _git(*args):
  try:
    out = subprocess.run(["git", "-C", REPO_ROOT] + list(args), capture_output=True,
                         text=True, timeout=10, check=True)
    return out.stdout.strip()
  except Exception:
    return None


def code_version():
  commit = _git("rev-parse", "HEAD")
  dirty = None
  if commit:
    status = _git("status", "--porcelain", "--untracked-files=no")
    dirty = bool(status)
  return {
      "package_version": _package_version(),
      "git_commit": commit,
      "git_dirty": dirty,
      "tensorflow": tf.__version__,
      "tf_slim": _dist_version("tf-slim"),
      "python": platform.python_version(),
  }


def _write_json(path, data):
  tmp = path + ".tmp"
  with tf.io.gfile.GFile(tmp, "w") as f:
    f.write(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
  tf.io.gfile.rename(tmp, path, overwrite=True)


def write(train_dir, flag_values: dict, dataset_dir: str, extra: dict = None):
  """Writes flags.json, provenance.json and a copy of dataset_info.json.

  A previous run's flags.json (resume) is kept as flags.json.<n>.
  """
  tf.io.gfile.makedirs(train_dir)
  flags_path = os.path.join(train_dir, FLAGS_FILENAME)
  if tf.io.gfile.exists(flags_path):
    n = 1
    while tf.io.gfile.exists("%s.%d" % (flags_path, n)):
      n += 1
    tf.io.gfile.copy(flags_path, "%s.%d" % (flags_path, n))
  _write_json(flags_path, flag_values)
  record = {"started_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(),
            "argv": list(sys.argv), "code": code_version()}
  if extra:
    record.update(extra)
  _write_json(os.path.join(train_dir, PROVENANCE_FILENAME), record)
  tf.io.gfile.copy(os.path.join(dataset_dir, info_lib.INFO_FILENAME),
                   os.path.join(train_dir, info_lib.INFO_FILENAME), overwrite=True)
  labels = os.path.join(dataset_dir, info_lib.LABELS_FILENAME)
  if tf.io.gfile.exists(labels):
    tf.io.gfile.copy(labels, os.path.join(train_dir, info_lib.LABELS_FILENAME),
                     overwrite=True)
