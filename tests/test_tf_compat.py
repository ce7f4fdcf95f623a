"""tf_compat: the one alias that lets tf_slim build batch-norm nets on TF 2.21."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import tf_compat
from tf_compat import slim, tf
from tf_slim.nets import inception


def test_alias_is_installed_and_points_at_the_shipped_package():
  import tf_keras.legacy_tf_layers.normalization as legacy_normalization
  import tf_keras.src.legacy_tf_layers.normalization as shipped_normalization
  assert legacy_normalization is shipped_normalization
  assert sys.modules[tf_compat.LEGACY_PACKAGE] is sys.modules[tf_compat.SHIPPED_PACKAGE]


def test_install_is_idempotent():
  before = sys.modules[tf_compat.LEGACY_PACKAGE]
  assert tf_compat.install() is False  # nothing left to do
  assert tf_compat.install() is False
  assert sys.modules[tf_compat.LEGACY_PACKAGE] is before


def test_without_the_alias_tf_slim_batch_norm_fails():
  """The failure tf_compat fixes is real on this TensorFlow (fresh process)."""
  code = textwrap.dedent("""
      import tensorflow as tf
      import tf_slim as slim
      with tf.Graph().as_default():
        images = tf.compat.v1.placeholder(tf.float32, [2, 8, 8, 3])
        slim.batch_norm(images, is_training=True)
      """)
  run = subprocess.run([sys.executable, "-c", code], capture_output=True,
                       text=True)
  assert run.returncode != 0
  assert "No module named 'tf_keras.legacy_tf_layers'" in run.stderr


def test_inception_v3_trains_with_batch_norm_updates():
  with tf.Graph().as_default():
    tf.compat.v1.set_random_seed(0)
    # 107 px: the smallest input on which the AuxLogits head (5x5 VALID
    # pool over Mixed_6e) fits.
    images = tf.random.uniform([2, 107, 107, 3], -1.0, 1.0, seed=1)
    with slim.arg_scope(inception.inception_v3_arg_scope()):
      logits, end_points = inception.inception_v3(
          images, num_classes=5, is_training=True, depth_multiplier=0.1)
    assert logits.shape.as_list() == [2, 5]
    assert "AuxLogits" in end_points
    update_ops = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)
    # One moving mean and one moving variance update per batch-norm layer.
    assert len(update_ops) >= 2 * 90
    moving_mean = [v for v in tf.compat.v1.global_variables()
                   if v.op.name == "InceptionV3/Conv2d_1a_3x3/BatchNorm/moving_mean"]
    assert len(moving_mean) == 1
    with tf.compat.v1.Session() as sess:
      sess.run(tf.compat.v1.global_variables_initializer())
      before = sess.run(moving_mean[0])
      values, _ = sess.run([logits, update_ops])
      after = sess.run(moving_mean[0])
    assert np.all(np.isfinite(values))
    assert not np.allclose(before, after)  # training mode updates statistics


def test_import_defers_optional_heavy_modules_until_used():
  """Keras 3, scikit-learn and pandas stay unimported (seconds of start-up)
  until something uses them; then tf_slim and tf-keras get the real ones."""
  code = textwrap.dedent("""
      import gc, sys
      import tf_compat
      print(sorted(m for m in ("keras", "sklearn", "sklearn.metrics", "pandas")
                   if m in sys.modules))
      print(gc.get_freeze_count() > 0)
      from tf_slim.losses import metric_learning
      from tf_keras.src.engine import data_adapter
      print(metric_learning.HAS_SKLEARN,
            metric_learning.metrics.adjusted_rand_score([0, 1], [1, 0]),
            data_adapter._is_pandas_series(data_adapter.pd.Series([1.0])))
      import sklearn.metrics, pandas
      print(metric_learning.metrics.adjusted_rand_score is
            sklearn.metrics.adjusted_rand_score)
      """)
  env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
  run = subprocess.run([sys.executable, "-c", code], capture_output=True,
                       text=True, env=env)
  assert run.returncode == 0, run.stderr[-3000:]
  assert run.stdout.split("\n")[:4] == ["[]", "True", "True 1.0 True", "True"]


def _small_net_graph_def():
  with tf.Graph().as_default() as graph:
    images = tf.zeros([2, 107, 107, 3])
    with slim.arg_scope(inception.inception_v3_arg_scope()):
      inception.inception_v3(images, num_classes=3, depth_multiplier=0.1)
    return graph.as_graph_def()


def test_graph_construction_builds_the_same_graph_and_restores_equality():
  from tensorflow.python.framework import tensor as tensor_lib
  assert tensor_lib.Tensor._USE_EQUALITY   # TF2's default
  plain = _small_net_graph_def()
  with tf_compat.GraphConstruction() as building:
    assert not tensor_lib.Tensor._USE_EQUALITY
    built = _small_net_graph_def()
    building.end()
    assert tensor_lib.Tensor._USE_EQUALITY
    building.end()   # idempotent
  assert tensor_lib.Tensor._USE_EQUALITY
  assert built == plain
  with pytest.raises(ValueError):
    with tf_compat.GraphConstruction():
      raise ValueError("graph construction failed")
  assert tensor_lib.Tensor._USE_EQUALITY
  # Eager code after it compares element-wise again.
  assert bool(tf.reduce_all(tf.constant([1, 2]) == tf.constant([1, 2])))
