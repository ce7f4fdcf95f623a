"""Checkpoint restore: file or directory, exclude scopes, mismatch and missing vars."""
import os

import numpy as np
import pytest

from tf_compat import slim, tf
from nets import nets_factory
from training import restore
from tests.training import checkpoint_fixtures

DM = 0.1
LOGITS = "InceptionV3/Logits/Conv2d_1c_1x1/weights"


@pytest.fixture(scope="module")
def official(tmp_path_factory):
  """A V1-format single-file checkpoint named like the official one."""
  return checkpoint_fixtures.build_inception_checkpoint(
      tmp_path_factory.mktemp("pretrained"), depth_multiplier=DM, v1_format=True)


def _build(num_classes):
  fn = nets_factory.get_network_fn("inception_v3", num_classes,
                                   is_training=False, depth_multiplier=DM)
  fn(tf.zeros([1, 107, 107, 3]))


def test_restore_map_from_the_official_files_directory(official):
  """--checkpoint_path=<folder of the unpacked archive> (no 'checkpoint' state
  file, one V1 file) restores as the file itself does."""
  with tf.Graph().as_default():
    _build(1001)
    path, by_dir = restore.build_restore_map(os.path.dirname(official))
    _, by_file = restore.build_restore_map(official)
  assert path == official
  assert sorted(by_dir) == sorted(by_file) and len(by_file) > 100


def test_missing_checkpoint_names_the_flag(tmp_path):
  with tf.Graph().as_default():
    _build(5)
    with pytest.raises(FileNotFoundError, match="--checkpoint_path=.*does not exist"):
      restore.build_restore_map(str(tmp_path / "nope.ckpt"))


def test_shape_mismatch_names_variables_and_flag(official):
  with tf.Graph().as_default():
    _build(5)
    with pytest.raises(restore.CheckpointMismatchError) as err:
      restore.make_init_fn(official, logits_scopes=("InceptionV3/Logits",
                                                    "InceptionV3/AuxLogits"))
    # Same graph: --trainable_scopes selects by scope.
    chosen = restore.variables_to_train("InceptionV3/Logits, InceptionV3/AuxLogits")
    assert chosen and all("Logits" in v.op.name for v in chosen)
    assert len(restore.variables_to_train(None)) == len(tf.compat.v1.trainable_variables())
    with pytest.raises(ValueError, match="matches no trainable variable"):
      restore.variables_to_train("InceptionV3/Nope")
  message = str(err.value)
  assert LOGITS in message and "[1, 1, 203, 1001]" in message
  assert "InceptionV3/AuxLogits/Conv2d_2b_1x1/weights" in message
  assert "--checkpoint_exclude_scopes=InceptionV3/AuxLogits,InceptionV3/Logits" in message


def test_restore_with_exclude_scopes_from_file_then_directory(tmp_path, official):
  values = checkpoint_fixtures.read_checkpoint(official)
  with tf.Graph().as_default():
    _build(5)
    init_fn = restore.make_init_fn(
        official, "InceptionV3/Logits,InceptionV3/AuxLogits")
    assert not any("Logits" in name for name in init_fn.restored)
    assert len(init_fn.restored) == len(values) - sum("Logits" in n for n in values)
    saver = tf.compat.v1.train.Saver()
    with tf.compat.v1.Session() as sess:
      sess.run(tf.compat.v1.global_variables_initializer())
      init_fn(None, sess)
      frozen = [v for v in slim.get_model_variables() if "Logits" not in v.op.name]
      for var, value in zip(frozen, sess.run(frozen)):
        np.testing.assert_array_equal(value, values[var.op.name])
      saver.save(sess, str(tmp_path / "run" / "model.ckpt"), global_step=7)
  # A train_dir (with its 'checkpoint' index) restores its latest checkpoint,
  # 5-class head included.
  with tf.Graph().as_default():
    _build(5)
    init_fn = restore.make_init_fn(str(tmp_path / "run"))
    assert init_fn.checkpoint_path.endswith("model.ckpt-7")
    assert LOGITS in init_fn.restored


def test_missing_variables_need_ignore_missing_vars(tmp_path, official):
  # A checkpoint like the official one without Mixed_7c.
  values = checkpoint_fixtures.read_checkpoint(official)
  with tf.Graph().as_default():
    partial = [tf.compat.v1.Variable(v, name=n) for n, v in values.items()
               if "Mixed_7c" not in n]
    with tf.compat.v1.Session() as sess:
      sess.run(tf.compat.v1.global_variables_initializer())
      tf.compat.v1.train.Saver(partial).save(sess, str(tmp_path / "partial.ckpt"))
  with tf.Graph().as_default():
    _build(1001)
    with pytest.raises(restore.CheckpointMismatchError, match="--ignore_missing_vars"):
      restore.make_init_fn(str(tmp_path / "partial.ckpt"))
    init_fn = restore.make_init_fn(str(tmp_path / "partial.ckpt"),
                                   ignore_missing_vars=True)
    assert not any("Mixed_7c" in n for n in init_fn.restored)


def test_inception_v3_trains_above_299_pixels():
  """--train_image_size larger than 299 (small lesions): a grid of logits is
  averaged, so the official variables (and checkpoint) still fit."""
  with tf.Graph().as_default():
    fn = nets_factory.get_network_fn("inception_v3", 5, is_training=True,
                                     depth_multiplier=DM)
    logits, end_points = fn(tf.zeros([2, 523, 523, 3]))
    assert logits.shape.as_list() == [2, 5]
    assert end_points["AuxLogits"].shape.as_list() == [2, 5]
    assert end_points["Predictions"].shape.as_list() == [2, 5]
    assert "InceptionV3/Logits/Conv2d_1c_1x1/weights" in [
        v.op.name for v in slim.get_model_variables()]
