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

Import time, which every script pays before its first line of work (measured
on 2 CPU cores, 6.2 -> 4.7 s, and 1.5 s less at exit):
  * ``import tensorflow`` eagerly imports Keras 3, and through it
    scikit-learn and SciPy, unless ``TF_USE_LEGACY_KERAS`` is set: it is set
    to 1 unless the environment says otherwise (``tf.keras`` is then tf-keras,
    the Keras 2 that tf_slim's layers come from anyway);
  * tf_slim imports scikit-learn's metrics for a metric-learning loss and
    tf-keras imports pandas for ``Model.fit`` on DataFrames, both optional
    imports that slim-med never uses: they are imported on first use instead;
  * the objects of all these imports move to the garbage collector's permanent
    generation (``gc.freeze``): they live until exit anyway, and every full
    collection (during graph construction, and several at interpreter exit)
    would otherwise traverse them again.
"""
import contextlib
import gc
import importlib
import importlib.util
import os
import sys
import types

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

# Optional imports of tensorflow/tf-keras/tf_slim, deferred to their first use:
# module -> [(importer, its attribute for the module, its "available" flag)].
DEFERRED_IMPORTS = {
    "sklearn.metrics": [("tf_slim.losses.metric_learning", "metrics", "HAS_SKLEARN")],
    "pandas": [("tf_keras.src.engine.data_adapter", "pd", None)],
}


class _ImportOnUse(types.ModuleType):
  """Stands for module ``name`` and imports it at the first attribute access."""

  def __getattr__(self, attr):
    return getattr(importlib.import_module(self.__name__), attr)


@contextlib.contextmanager
def _deferring_imports():
  """Inside, DEFERRED_IMPORTS fail (their importers catch ImportError); after,
  each importer gets a module that imports the real one on first use."""
  blocked = [name for name in DEFERRED_IMPORTS if name not in sys.modules]
  for name in blocked:
    sys.modules[name] = None
  try:
    yield
  finally:
    for name in blocked:
      if sys.modules.get(name, 0) is None:
        del sys.modules[name]
  for name in blocked:
    if importlib.util.find_spec(name.split(".")[0]) is None:
      continue   # not installed: the importers' fallbacks are right
    for importer, attr, flag in DEFERRED_IMPORTS[name]:
      module = sys.modules.get(importer)
      if module is not None and getattr(module, attr, None) is None:
        setattr(module, attr, _ImportOnUse(name))
        if flag:
          setattr(module, flag, True)


with _deferring_imports():
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


with _deferring_imports():
  install()
  import tf_slim as slim  # noqa: E402
gc.freeze()

__all__ = ["GraphConstruction", "install", "slim", "tf"]



class GraphConstruction:
  """``with GraphConstruction() as building:`` around building a tf.Graph turns
  TF2's tensor equality off until ``building.end()`` or the block's end.

  In a tf.Graph, ``Tensor.__eq__``/``__hash__`` are object identity whether
  tensor equality is on or not; with it on, every call first asks whether
  eager execution is on outside functions, a context-stack walk. Building
  InceptionV3 makes hundreds of thousands of such calls (tf-keras and tf_slim
  keep variables in sets and lists: quadratic in the variable count), about a
  quarter of the graph's construction time. Not for eager code (there
  equality is element-wise), nor while other threads run eager code.
  """

  def __enter__(self):
    from tensorflow.python.framework import tensor as tensor_lib
    self._restore = tensor_lib.Tensor._USE_EQUALITY  # pylint: disable=protected-access
    tf.compat.v1.disable_tensor_equality()
    return self

  def end(self):
    """Tensor equality as before (idempotent)."""
    if self._restore:
      self._restore = False
      tf.compat.v1.enable_tensor_equality()

  def __exit__(self, *exc):
    self.end()
    return False
