"""A stand-in for the official inception_v3_2016_08_28 checkpoint.

Built with tf_slim's InceptionV3 and 1001 classes (the official variable
names and, at depth_multiplier=1, shapes); model variables only, random
values everywhere (batch-norm statistics included, so any update shows).
The official file is a single V1-format checkpoint; ``v1_format=True``
writes the same format.
"""
import os

import numpy as np

from tf_compat import slim, tf
from nets import nets_factory


def build_inception_checkpoint(directory, depth_multiplier=0.1, num_classes=1001,
                               image_size=107, v1_format=False, seed=0,
                               name="inception_v3.ckpt"):
  """Writes ``directory/name`` and returns its path."""
  os.makedirs(str(directory), exist_ok=True)
  path = os.path.join(str(directory), name)
  rng = np.random.RandomState(seed)
  with tf.Graph().as_default():
    network_fn = nets_factory.get_network_fn(
        "inception_v3", num_classes=num_classes, is_training=False,
        depth_multiplier=depth_multiplier)
    network_fn(tf.zeros([1, image_size, image_size, 3]))
    variables = slim.get_model_variables()
    assigns = []
    for var in variables:
      shape = var.shape.as_list()
      if var.op.name.endswith("moving_variance"):
        value = rng.uniform(0.5, 1.5, shape)
      else:
        value = rng.normal(0.0, 0.05, shape)
      assigns.append(var.assign(value.astype(np.float32)))
    version = (tf.compat.v1.train.SaverDef.V1 if v1_format
               else tf.compat.v1.train.SaverDef.V2)
    saver = tf.compat.v1.train.Saver(variables, write_version=version)
    with tf.compat.v1.Session() as sess:
      sess.run(tf.compat.v1.global_variables_initializer())
      sess.run(assigns)
      saver.save(sess, path, write_meta_graph=False, write_state=False)
  return path


def read_checkpoint(path):
  """{variable name: numpy value} of a checkpoint file or directory."""
  if os.path.isdir(path):
    path = tf.train.latest_checkpoint(path)
  reader = tf.compat.v1.train.NewCheckpointReader(path)
  return {name: reader.get_tensor(name)
          for name in reader.get_variable_to_shape_map()}
