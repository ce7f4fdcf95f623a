"""A stand-in for the official inception_v3_2016_08_28 checkpoint.

Built with tf_slim's InceptionV3 and 1001 classes (the official variable
names and, at depth_multiplier=1, shapes); model variables only, random
values everywhere (batch-norm statistics included, so any update shows).
The official file is a single V1-format checkpoint; ``v1_format=True``
writes the same format.
"""
import os

from tf_compat import tf
from nets import checkpoints


def build_inception_checkpoint(directory, depth_multiplier=0.1, num_classes=1001,
                               image_size=107, v1_format=False, seed=0,
                               name="inception_v3.ckpt"):
  """Writes ``directory/name`` and returns its path."""
  os.makedirs(str(directory), exist_ok=True)
  return checkpoints.make_standin_checkpoint(
      "inception_v3", os.path.join(str(directory), name),
      num_classes=num_classes, depth_multiplier=depth_multiplier,
      image_size=image_size, seed=seed, v1_format=v1_format)


def read_checkpoint(path):
  """{variable name: numpy value} of a checkpoint file or directory."""
  if os.path.isdir(path):
    path = tf.train.latest_checkpoint(path)
  reader = tf.compat.v1.train.NewCheckpointReader(path)
  return {name: reader.get_tensor(name)
          for name in reader.get_variable_to_shape_map()}
