"""nets/checkpoints: stand-in checkpoints carry the official variable names."""
import numpy as np

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
