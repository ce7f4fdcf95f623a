"""The converter's output files: ``tf.io.gfile`` (local paths, ``gs://``, ...)
and, for schemes TensorFlow 2.21 cannot write (``s3://``, ``azfs://``),
Apache Beam's FileSystems (``apache-beam[aws]`` / ``[azure]``), which only a
Beam run (``--runner``) uses. Training reads local paths and ``gs://``
through ``tf.io.gfile``; see README for ``s3://``.

Object stores have no folders: ``makedirs`` does nothing there and a
"folder" exists while a file lies under it.
"""
import contextlib
import io
import os
import shutil
import tempfile
from typing import List

BEAM_ONLY_SCHEMES = ("s3", "azfs")


def scheme(path: str) -> str:
  return path.split("://", 1)[0].lower() if "://" in path else ""


def via_beam(path: str) -> bool:
  """True where TensorFlow 2.21 has no file system and Beam's is used."""
  return scheme(str(path)) in BEAM_ONLY_SCHEMES


def _gfile():
  from tf_compat import tf
  return tf.io.gfile


def _fs():
  from apache_beam.io.filesystems import FileSystems
  return FileSystems


def _under(path: str) -> List[str]:
  """Every file below a folder (Beam)."""
  pattern = path.rstrip("/") + "/**"
  return [m.path for m in _fs().match([pattern])[0].metadata_list]


def exists(path: str) -> bool:
  if via_beam(path):
    return _fs().exists(path) or bool(_under(path))
  return _gfile().exists(path)


def isdir(path: str) -> bool:
  if via_beam(path):
    return bool(_under(path))
  return _gfile().isdir(path)


def listdir(path: str) -> List[str]:
  """Names directly in a folder (files and sub-folders), no trailing '/'."""
  if via_beam(path):
    prefix = path.rstrip("/") + "/"
    return sorted({p[len(prefix):].split("/", 1)[0] for p in _under(path)
                   if p.startswith(prefix)})
  return [n.rstrip("/") for n in _gfile().listdir(path)]


def makedirs(path: str) -> None:
  if via_beam(path):
    if not scheme(path):        # Beam's local file system (tests)
      os.makedirs(path, exist_ok=True)
    return
  _gfile().makedirs(path)


def remove(path: str) -> None:
  if via_beam(path):
    _fs().delete([path])
  else:
    _gfile().remove(path)


def rmtree(path: str) -> None:
  if via_beam(path):
    files = _under(path)
    if files:
      _fs().delete(files)
    if not scheme(path) and os.path.isdir(path):
      shutil.rmtree(path)
  else:
    _gfile().rmtree(path)


def rename(src: str, dst: str) -> None:
  """Moves src over dst (replacing it)."""
  if via_beam(dst):
    if _fs().exists(dst):
      _fs().delete([dst])
    _fs().rename([src], [dst])
  else:
    _gfile().rename(src, dst, overwrite=True)


@contextlib.contextmanager
def open_file(path: str, mode: str = "r"):
  """``r``/``w`` text (UTF-8) or ``rb``/``wb`` bytes."""
  if not via_beam(path):
    with _gfile().GFile(path, mode) as f:
      yield f
    return
  raw = _fs().create(path) if mode.startswith("w") else _fs().open(path)
  if "b" in mode:
    with raw:
      yield raw
    return
  text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
  try:
    yield text
  finally:
    text.close()


@contextlib.contextmanager
def tfrecord_writer(path: str):
  """A ``tf.io.TFRecordWriter``; for Beam-only schemes it writes a local
  temporary file that is copied to ``path`` when closed."""
  from tf_compat import tf
  if not via_beam(path):
    with tf.io.TFRecordWriter(path) as writer:
      yield writer
    return
  handle, local = tempfile.mkstemp(suffix=".tfrecord")
  os.close(handle)
  try:
    with tf.io.TFRecordWriter(local) as writer:
      yield writer
    with open(local, "rb") as src, _fs().create(path) as dst:
      shutil.copyfileobj(src, dst, 1 << 20)
  finally:
    os.remove(local)
