"""The one place where slim-med adapts tf_slim 1.1.0 to current TensorFlow.

TensorFlow 2.21 resolves ``tf.compat.v1.layers.batch_normalization`` (used by
``tf_slim.layers.batch_norm``) lazily from ``tf_keras.legacy_tf_layers``.
``tf-keras`` 2.21 ships that package as ``tf_keras.src.legacy_tf_layers`` and
no longer exposes the old public path, so every tf_slim net that uses batch norm
(InceptionV1-V3, ResNet) fails at graph construction with
``ModuleNotFoundError: No module named 'tf_keras.legacy_tf_layers'``.

Importing this module registers the shipped package under the old name, once,
before tf_slim is imported. Nothing else in the code base works around
TensorFlow versions: import ``slim`` from here.

    from tf_compat import slim, tf
"""
import importlib
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

LEGACY_PACKAGE = "tf_keras.legacy_tf_layers"
SHIPPED_PACKAGE = "tf_keras.src.legacy_tf_layers"
_SUBMODULES = ("base", "core", "convolutional", "normalization", "pooling",
               "variable_scope_shim", "migration_utils")


def install():
  """Makes ``tf_keras.legacy_tf_layers`` importable. Idempotent.

  Returns True when an alias was registered, False when none was needed.
  Raises ImportError naming the fix when tf-keras is missing.
  """
  try:
    importlib.import_module(LEGACY_PACKAGE + ".normalization")
    return False
  except ImportError:
    pass
  try:
    shipped = importlib.import_module(SHIPPED_PACKAGE)
  except ImportError as err:
    raise ImportError(
        "tf_slim needs the Keras 2 legacy layers: install 'tf-keras' matching "
        "your TensorFlow (pip install 'tf-keras==%s.*'). Original error: %s"
        % (".".join(tf.__version__.split(".")[:2]), err)) from err
  sys.modules[LEGACY_PACKAGE] = shipped
  for name in _SUBMODULES:
    try:
      module = importlib.import_module("%s.%s" % (SHIPPED_PACKAGE, name))
    except ImportError:
      continue
    sys.modules["%s.%s" % (LEGACY_PACKAGE, name)] = module
  return True


install()

import tf_slim as slim  # noqa: E402

__all__ = ["install", "slim", "tf"]
