"""``tiny_cnn``: a two-convolution net for CI-sized runs (cluster tests, smoke
runs on CPUs). Not an ImageNet architecture and no published checkpoint: it
exists so that a test can start several TensorFlow processes and train in
seconds. Layers follow TF-Slim's conventions (conv + batch norm + ReLU in an
arg_scope with weight decay, a 1x1-conv classifier under ``Logits``).
"""
from tf_compat import slim, tf


def tiny_cnn_arg_scope(weight_decay=0.00004, batch_norm_decay=0.9,
                       batch_norm_epsilon=0.001):
  with slim.arg_scope(
      [slim.conv2d], weights_regularizer=slim.l2_regularizer(weight_decay),
      weights_initializer=slim.variance_scaling_initializer(),
      activation_fn=tf.nn.relu, normalizer_fn=slim.batch_norm,
      normalizer_params={"decay": batch_norm_decay,
                         "epsilon": batch_norm_epsilon}) as scope:
    return scope


def tiny_cnn(images, num_classes=10, is_training=False, dropout_keep_prob=None,
             depth=8, scope="TinyCNN"):
  """[N, H, W, 3] -> ([N, num_classes] logits, end_points); any H, W >= 4."""
  del dropout_keep_prob   # no dropout layer
  end_points = {}
  with tf.compat.v1.variable_scope(scope, "TinyCNN", [images]):
    with slim.arg_scope([slim.batch_norm], is_training=is_training):
      net = slim.conv2d(images, depth, [3, 3], stride=2, scope="Conv2d_1a_3x3")
      end_points["Conv2d_1a_3x3"] = net
      net = slim.conv2d(net, 2 * depth, [3, 3], stride=2, scope="Conv2d_2a_3x3")
      end_points["Conv2d_2a_3x3"] = net
      net = tf.reduce_mean(net, [1, 2], keepdims=True, name="global_pool")
      if not num_classes:
        return tf.squeeze(net, [1, 2]), end_points
      logits = slim.conv2d(net, num_classes, [1, 1], activation_fn=None,
                           normalizer_fn=None, scope="Logits/Conv2d_1c_1x1")
      logits = tf.squeeze(logits, [1, 2], name="SpatialSqueeze")
  end_points["Logits"] = logits
  end_points["Predictions"] = tf.nn.softmax(logits, name="Predictions")
  return logits, end_points


tiny_cnn.default_image_size = 32
