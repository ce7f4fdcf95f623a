"""nets/checkpoints: which checkpoint a path names (one rule for every
script), and stand-in checkpoints with the official variable names."""
import os

import numpy as np
import pytest

from tf_compat import slim, tf
from nets import checkpoints, nets_factory


def _read(path):
  reader = tf.compat.v1.train.NewCheckpointReader(path)
  return {name: reader.get_tensor(name)
          for name in reader.get_variable_to_shape_map()}


def test_standin_inception_v3_has_official_names_and_restores(tmp_path):
  path = checkpoints.make_standin_checkpoint(
      "inception_v3", str(tmp_path / "inception_v3.ckpt"), depth_multiplier=0.1,
      image_size=107)
  values = _read(path)
  assert values["InceptionV3/AuxLogits/Conv2d_2b_1x1/weights"].shape[-1] == 1001
  assert values["InceptionV3/Logits/Conv2d_1c_1x1/weights"].shape[-1] == 1001
  assert "InceptionV3/Mixed_7c/Branch_3/Conv2d_0b_1x1/BatchNorm/moving_variance" in values
  assert "global_step" not in values
  assert all(np.all(np.isfinite(v)) for v in values.values())
  # A 5-class fine-tuning graph restores everything outside the logits scopes.
  with tf.Graph().as_default():
    network_fn = nets_factory.get_network_fn("inception_v3", 5, is_training=True,
                                             depth_multiplier=0.1)
    network_fn(tf.zeros([1, 107, 107, 3]))
    model_vars = slim.get_model_variables()
    kept = [v for v in model_vars if not v.op.name.startswith(
        ("InceptionV3/Logits", "InceptionV3/AuxLogits"))]
    assert {v.op.name for v in model_vars} == set(values)
    saver = tf.compat.v1.train.Saver(kept)
    with tf.compat.v1.Session() as sess:
      saver.restore(sess, path)
      got = sess.run(kept[0])
    np.testing.assert_array_equal(got, values[kept[0].op.name])


def test_official_checkpoint_urls():
  url, name = checkpoints.OFFICIAL_CHECKPOINTS["inception_v3"]
  assert url == ("http://download.tensorflow.org/models/"
                 "inception_v3_2016_08_28.tar.gz")
  assert name == "inception_v3.ckpt"
  assert set(checkpoints.OFFICIAL_CHECKPOINTS) <= set(nets_factory.names())


def _touch_ckpt(directory, step):
  for suffix in (".index", ".data-00000-of-00001", ".meta"):
    with open(os.path.join(directory, "model.ckpt-%d%s" % (step, suffix)), "w"):
      pass
  return os.path.join(directory, "model.ckpt-%d" % step)


def test_resolve_prefix_file_and_train_dir(tmp_path):
  """One rule for training's --checkpoint_path and every inference script."""
  d = str(tmp_path)
  with pytest.raises(FileNotFoundError, match="--checkpoint_path=.*holds no checkpoint"):
    checkpoints.resolve(d)
  a = _touch_ckpt(d, 5)
  b = _touch_ckpt(d, 100)   # by step, not by name
  assert checkpoints.resolve(d) == b
  assert checkpoints.resolve(a) == a
  assert checkpoints.resolve(a + ".index") == a
  assert checkpoints.resolve(a + ".data-00000-of-00001") == a
  assert checkpoints.list_checkpoints(d) == [a, b]
  with pytest.raises(FileNotFoundError, match="model.ckpt-7"):
    checkpoints.resolve(os.path.join(d, "model.ckpt-7"))
  with pytest.raises(ValueError, match="--checkpoint_path is empty"):
    checkpoints.resolve("")
  assert checkpoints.checkpoint_dir(a) == d
  assert checkpoints.checkpoint_dir(a + ".index") == d
  assert checkpoints.checkpoint_dir(d) == d
  assert checkpoints.step_of(b) == 100
  assert checkpoints.step_of(os.path.join(d, "inception_v3.ckpt")) == -1


def test_resolve_official_v1_file_and_its_directory(tmp_path):
  """The unpacked official archive: one V1 file, no .index, no 'checkpoint'
  state file. The file and the folder holding it both name it."""
  path = checkpoints.make_standin_checkpoint(
      "inception_v3", str(tmp_path / "inception_v3.ckpt"), depth_multiplier=0.1,
      image_size=107, v1_format=True)
  assert not os.path.exists(path + ".index")
  assert checkpoints.resolve(path) == path
  assert checkpoints.resolve(str(tmp_path)) == path
  # two candidate files: ambiguous, so the user names one
  checkpoints.make_standin_checkpoint(
      "inception_v3", str(tmp_path / "other.ckpt"), depth_multiplier=0.1,
      image_size=107, v1_format=True)
  with pytest.raises(FileNotFoundError, match="holds no checkpoint"):
    checkpoints.resolve(str(tmp_path))
  # a half-written V2 checkpoint (.meta, no .index) is not one
  meta = str(tmp_path / "model.ckpt-3.meta")
  open(meta, "w").close()
  with pytest.raises(FileNotFoundError, match="model.ckpt-3"):
    checkpoints.resolve(meta)


def test_train_dir_state_file_with_relative_paths(tmp_path):
  """A train_dir moved elsewhere: the 'checkpoint' state file's paths are
  read relative to the directory."""
  d = str(tmp_path)
  a = _touch_ckpt(d, 2)
  with open(os.path.join(d, "checkpoint"), "w") as f:
    f.write('model_checkpoint_path: "model.ckpt-2"\n'
            'all_model_checkpoint_paths: "model.ckpt-2"\n')
  assert checkpoints.resolve(d) == a
