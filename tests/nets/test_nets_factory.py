"""nets_factory: every listed net builds with the official TF-Slim variable names.

Graphs are built (shape inference only), so the big nets stay cheap; only the
frozen-batch-norm tests run a tiny InceptionV3 (depth_multiplier 0.1, 107 px).
"""
import numpy as np
import pytest

from tf_compat import slim, tf
from nets import nets_factory

# Smallest input each tf_slim net accepts: VGG, AlexNet and Inception V1 end
# in fixed-size VALID kernels; InceptionV3's AuxLogits head pools Mixed_6e
# with a 5x5 VALID kernel, which needs 107 px.
SMALL_SIZE = {"alexnet_v2": 224, "vgg_16": 224, "vgg_19": 224,
              "inception_v1": 224, "inception_v3": 107}

# Names and shapes as in the published TF-Slim ImageNet checkpoints.
OFFICIAL_VARIABLES = {
    "inception_v1": {
        "InceptionV1/Conv2d_1a_7x7/weights": [7, 7, 3, 64],
        "InceptionV1/Mixed_5c/Branch_3/Conv2d_0b_1x1/weights": [1, 1, 832, 128],
        "InceptionV1/Logits/Conv2d_0c_1x1/weights": [1, 1, 1024, 1001],
    },
    "inception_v2": {
        "InceptionV2/Conv2d_1a_7x7/depthwise_weights": [7, 7, 3, 8],
        "InceptionV2/Mixed_5c/Branch_3/Conv2d_0b_1x1/weights": [1, 1, 1024, 128],
        "InceptionV2/Logits/Conv2d_1c_1x1/weights": [1, 1, 1024, 1001],
    },
    "inception_v3": {
        "InceptionV3/Conv2d_1a_3x3/weights": [3, 3, 3, 32],
        "InceptionV3/Conv2d_1a_3x3/BatchNorm/beta": [32],
        "InceptionV3/Mixed_7c/Branch_3/Conv2d_0b_1x1/weights": [1, 1, 2048, 192],
        "InceptionV3/Mixed_7c/Branch_3/Conv2d_0b_1x1/BatchNorm/moving_mean": [192],
        "InceptionV3/AuxLogits/Conv2d_1b_1x1/weights": [1, 1, 768, 128],
        "InceptionV3/AuxLogits/Conv2d_2b_1x1/weights": [1, 1, 768, 1001],
        "InceptionV3/AuxLogits/Conv2d_2b_1x1/biases": [1001],
        "InceptionV3/Logits/Conv2d_1c_1x1/weights": [1, 1, 2048, 1001],
    },
    "resnet_v1_50": {
        "resnet_v1_50/conv1/weights": [7, 7, 3, 64],
        "resnet_v1_50/block1/unit_1/bottleneck_v1/shortcut/weights": [1, 1, 64, 256],
        "resnet_v1_50/block3/unit_6/bottleneck_v1/conv1/weights": [1, 1, 1024, 256],
        "resnet_v1_50/block4/unit_3/bottleneck_v1/conv3/weights": [1, 1, 512, 2048],
        "resnet_v1_50/logits/weights": [1, 1, 2048, 1000],
    },
    "resnet_v1_101": {
        "resnet_v1_101/block3/unit_23/bottleneck_v1/conv2/weights": [3, 3, 256, 256],
        "resnet_v1_101/logits/weights": [1, 1, 2048, 1000],
    },
    "resnet_v1_152": {
        "resnet_v1_152/block2/unit_8/bottleneck_v1/conv3/weights": [1, 1, 128, 512],
        "resnet_v1_152/block3/unit_36/bottleneck_v1/conv2/weights": [3, 3, 256, 256],
        "resnet_v1_152/logits/weights": [1, 1, 2048, 1000],
    },
    "resnet_v2_50": {
        "resnet_v2_50/conv1/weights": [7, 7, 3, 64],
        "resnet_v2_50/block4/unit_3/bottleneck_v2/conv3/weights": [1, 1, 512, 2048],
        "resnet_v2_50/postnorm/moving_mean": [2048],
        "resnet_v2_50/logits/weights": [1, 1, 2048, 1001],
    },
    "resnet_v2_101": {
        "resnet_v2_101/block3/unit_23/bottleneck_v2/conv2/weights": [3, 3, 256, 256],
        "resnet_v2_101/logits/weights": [1, 1, 2048, 1001],
    },
    "resnet_v2_152": {
        "resnet_v2_152/block3/unit_36/bottleneck_v2/conv2/weights": [3, 3, 256, 256],
        "resnet_v2_152/logits/weights": [1, 1, 2048, 1001],
    },
    "vgg_16": {
        "vgg_16/conv1/conv1_1/weights": [3, 3, 3, 64],
        "vgg_16/conv5/conv5_3/weights": [3, 3, 512, 512],
        "vgg_16/fc6/weights": [7, 7, 512, 4096],
        "vgg_16/fc8/weights": [1, 1, 4096, 1000],
        "vgg_16/fc8/biases": [1000],
    },
    "vgg_19": {
        "vgg_19/conv5/conv5_4/weights": [3, 3, 512, 512],
        "vgg_19/fc8/weights": [1, 1, 4096, 1000],
    },
    "alexnet_v2": {
        "alexnet_v2/conv1/weights": [11, 11, 3, 64],
        "alexnet_v2/fc6/weights": [5, 5, 256, 4096],
        "alexnet_v2/fc8/weights": [1, 1, 4096, 1000],
    },
}

# Units that must NOT exist (the depth is right, not just "at least").
ABSENT = {
    "resnet_v1_50": "resnet_v1_50/block3/unit_7/",
    "resnet_v1_101": "resnet_v1_101/block3/unit_24/",
    "resnet_v1_152": "resnet_v1_152/block3/unit_37/",
    "resnet_v2_50": "resnet_v2_50/block3/unit_7/",
    "resnet_v2_101": "resnet_v2_101/block3/unit_24/",
    "resnet_v2_152": "resnet_v2_152/block3/unit_37/",
    "vgg_16": "vgg_16/conv5/conv5_4/",
}

DEFAULT_SIZES = {
    "alexnet_v2": 224, "vgg_16": 224, "vgg_19": 224, "inception_v1": 224,
    "inception_v2": 224, "inception_v3": 299, "resnet_v1_50": 224,
    "resnet_v1_101": 224, "resnet_v1_152": 224, "resnet_v2_50": 299,
    "resnet_v2_101": 299, "resnet_v2_152": 299,
}


def _build(name, num_classes, size, **kwargs):
  """Builds ``name`` in a fresh graph; returns (logits, end_points, {var: shape})."""
  graph = tf.Graph()
  with graph.as_default():
    network_fn = nets_factory.get_network_fn(name, num_classes, **kwargs)
    images = tf.compat.v1.placeholder(tf.float32, [2, size, size, 3])
    logits, end_points = network_fn(images)
    variables = {v.op.name: v.shape.as_list()
                 for v in tf.compat.v1.global_variables()}
    regularizers = tf.compat.v1.get_collection(
        tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES)
  return logits, end_points, variables, regularizers


def test_every_tf_slim_net_is_registered():
  assert set(nets_factory.names()) >= set(OFFICIAL_VARIABLES)


@pytest.mark.parametrize("name", sorted(OFFICIAL_VARIABLES))
def test_net_builds_with_official_names(name):
  spec = nets_factory.get_spec(name)
  num_classes = spec.imagenet_num_classes
  logits, end_points, variables, regularizers = _build(
      name, num_classes, SMALL_SIZE.get(name, 64), weight_decay=4e-5,
      is_training=True)
  assert logits.shape.as_list() == [2, num_classes]
  # One top scope, the official one.
  assert {v.split("/")[0] for v in variables} == {spec.scope}
  for variable, shape in OFFICIAL_VARIABLES[name].items():
    assert variable in variables, variable
    assert variables[variable] == shape, variable
  if name in ABSENT:
    assert not any(v.startswith(ABSENT[name]) for v in variables)
  # The scopes a fine-tune excludes really hold the classifier.
  for scope in spec.logits_scopes:
    held = [v for v in variables if v.startswith(scope + "/")
            and v.endswith("weights")]
    assert held and any(variables[v][-1] == num_classes for v in held)
  assert regularizers  # weight decay reaches the net's arg_scope
  assert bool(spec.has_aux_logits) == ("AuxLogits" in end_points)


def test_default_image_sizes():
  for name, size in DEFAULT_SIZES.items():
    assert nets_factory.get_spec(name).default_image_size == size
    network_fn = nets_factory.get_network_fn(name, 5)
    assert network_fn.default_image_size == size


def test_inception_v3_small_depth_multiplier_and_new_classes():
  logits, end_points, variables, _ = _build(
      "inception_v3", 5, 107, depth_multiplier=0.25, is_training=False)
  assert logits.shape.as_list() == [2, 5]
  assert end_points["AuxLogits"].shape.as_list() == [2, 5]
  # Every layer thinned by 4 (floored at min_depth=16).
  assert variables["InceptionV3/Conv2d_1a_3x3/weights"] == [3, 3, 3, 16]
  assert variables["InceptionV3/Mixed_7c/Branch_3/Conv2d_0b_1x1/weights"] == [
      1, 1, 512, 48]
  assert variables["InceptionV3/Logits/Conv2d_1c_1x1/weights"][-1] == 5
  assert variables["InceptionV3/AuxLogits/Conv2d_2b_1x1/weights"][-1] == 5


def test_unknown_model_name_is_a_clear_error():
  with pytest.raises(ValueError, match=r"inception_v4.*inception_v3"):
    nets_factory.get_network_fn("inception_v4", 5)
  with pytest.raises(ValueError, match="inception_v4"):
    nets_factory.get_spec("inception_v4")


def test_depth_multiplier_rejected_where_unsupported():
  with pytest.raises(ValueError, match="depth_multiplier"):
    nets_factory.get_network_fn("vgg_16", 5, depth_multiplier=0.5)


# --- Frozen batch norm (--freeze_batch_norm): inference mode outside scopes ---

def _batch_norm_nodes(graph):
  return {n.name: n.attr["is_training"].b for n in graph.as_graph_def().node
          if n.op.startswith("FusedBatchNorm")}


def _frozen_inception(scopes, batch):
  """Features of a tiny InceptionV3 whose batch norm trains only in ``scopes``
  (built for training) and of the same weights built for inference, on
  ``batch`` and on its first two images; moving statistics are random."""
  rng = np.random.RandomState(0)
  with tf.Graph().as_default() as graph:
    images = tf.compat.v1.placeholder(tf.float32, [None, 107, 107, 3])
    train_fn = nets_factory.get_network_fn(
        "inception_v3", 4, is_training=True, depth_multiplier=0.1,
        batch_norm_training_scopes=scopes)
    _, train_points = train_fn(images)
    infer_fn = nets_factory.get_network_fn("inception_v3", 4, is_training=False,
                                           depth_multiplier=0.1)
    _, infer_points = infer_fn(images, reuse=True)
    update_ops = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)
    model_variables = slim.get_model_variables()
    check = lambda: nets_factory.check_batch_norm_modes(model_variables,
                                                        update_ops, scopes)
    keys = ("Mixed_6e", "Mixed_7c")
    with tf.compat.v1.Session() as sess:
      sess.run(tf.compat.v1.global_variables_initializer())
      for var in slim.get_model_variables():
        if var.op.name.endswith(("moving_mean", "moving_variance")):
          low = 0.5 if var.op.name.endswith("variance") else -0.5
          var.load(rng.uniform(low, low + 1.0, var.shape).astype(np.float32), sess)
      fetch = {"train": {k: train_points[k] for k in keys},
               "infer": {k: infer_points[k] for k in keys}}
      full = sess.run(fetch, {images: batch})
      half = sess.run(fetch, {images: batch[:2]})
  return full, half, update_ops, check


def test_frozen_batch_norm_layers_compute_what_inference_computes():
  """--freeze_batch_norm --trainable_scopes=InceptionV3/Logits: every batch
  norm (all outside Logits) normalises with its moving statistics in the
  training graph, so a frozen feature does not depend on the rest of the batch."""
  batch = np.random.RandomState(1).uniform(-1, 1, (4, 107, 107, 3)).astype(np.float32)
  full, half, update_ops, check = _frozen_inception(["InceptionV3/Logits"], batch)
  for key in ("Mixed_6e", "Mixed_7c"):
    np.testing.assert_allclose(full["train"][key], full["infer"][key],
                               rtol=1e-4, atol=1e-5, err_msg=key)
    np.testing.assert_allclose(half["train"][key], full["train"][key][:2],
                               rtol=1e-4, atol=1e-5, err_msg=key)
  trained, frozen = check()
  assert not update_ops and not trained and len(frozen) > 90


def test_batch_norm_inside_trainable_scopes_keeps_training_mode():
  batch = np.random.RandomState(1).uniform(-1, 1, (4, 107, 107, 3)).astype(np.float32)
  full, half, update_ops, check = _frozen_inception(
      ["InceptionV3/Mixed_7c", "InceptionV3/Logits"], batch)
  trained, frozen = check()
  assert trained and all(t.startswith("InceptionV3/Mixed_7c/") for t in trained)
  assert len(update_ops) == 2 * len(trained)       # mean and variance
  # Mixed_6e is frozen: inference features; Mixed_7c trains: batch statistics.
  np.testing.assert_allclose(full["train"]["Mixed_6e"], full["infer"]["Mixed_6e"],
                             rtol=1e-4, atol=1e-5)
  assert not np.allclose(full["train"]["Mixed_7c"], full["infer"]["Mixed_7c"],
                         rtol=1e-3, atol=1e-3)
  assert not np.allclose(half["train"]["Mixed_7c"], full["train"]["Mixed_7c"][:2],
                         rtol=1e-3, atol=1e-3)


def test_without_frozen_batch_norm_the_graph_is_tf_slims():
  """No batch_norm_training_scopes: the tf_slim graph, batch norm in training
  mode everywhere with its update ops (TF-Slim's behaviour)."""
  from tf_slim.nets import inception
  with tf.Graph().as_default() as ours:
    images = tf.compat.v1.placeholder(tf.float32, [2, 107, 107, 3])
    nets_factory.get_network_fn("inception_v3", 4, is_training=True,
                                depth_multiplier=0.1)(images)
    our_updates = len(tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS))
  with tf.Graph().as_default() as theirs:
    images = tf.compat.v1.placeholder(tf.float32, [2, 107, 107, 3])
    with slim.arg_scope(inception.inception_v3_arg_scope(weight_decay=0.0)):
      inception.inception_v3(images, num_classes=4, is_training=True,
                             depth_multiplier=0.1, spatial_squeeze=False)
    their_updates = len(tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS))
  ours_bn, theirs_bn = _batch_norm_nodes(ours), _batch_norm_nodes(theirs)
  assert ours_bn == theirs_bn and len(ours_bn) > 90 and all(ours_bn.values())
  assert our_updates == their_updates == 2 * len(ours_bn)


@pytest.mark.parametrize("name,size,scopes,trained_prefix", [
    ("inception_v1", 224, ["InceptionV1/Mixed_5c", "InceptionV1/Logits"],
     "InceptionV1/Mixed_5c/"),
    ("inception_v2", 224, ["InceptionV2/Mixed_5c", "InceptionV2/Logits"],
     "InceptionV2/Mixed_5c/"),
    ("resnet_v1_50", 64, ["resnet_v1_50/block4", "resnet_v1_50/logits"],
     "resnet_v1_50/block4/"),
    ("resnet_v2_50", 64, ["resnet_v2_50/logits"], None),
    ("vgg_16", 224, ["vgg_16/fc8"], None),        # no batch norm at all
])
def test_frozen_batch_norm_modes_of_other_nets(name, size, scopes, trained_prefix):
  with tf.Graph().as_default() as graph:
    fn = nets_factory.get_network_fn(name, 5, is_training=True,
                                     batch_norm_training_scopes=scopes)
    fn(tf.compat.v1.placeholder(tf.float32, [2, size, size, 3]))
    trained, frozen = nets_factory.check_batch_norm_modes(
        slim.get_model_variables(),
        tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS), scopes)
  modes = _batch_norm_nodes(graph)
  assert len(modes) == len(trained) + len(frozen)
  assert sum(modes.values()) == len(trained)     # graph nodes in training mode
  if trained_prefix:
    assert trained and all(t.startswith(trained_prefix) for t in trained)
  else:
    assert not trained


def test_resnet_v2_direct_batch_norm_inside_trainable_scopes_is_refused():
  """ResNet v2 calls its pre-activation batch norms directly (not as a conv
  normalizer): they cannot train inside --trainable_scopes while others are
  frozen, and the check says so in one line."""
  scopes = ["resnet_v2_50/block4", "resnet_v2_50/postnorm", "resnet_v2_50/logits"]
  with tf.Graph().as_default():
    fn = nets_factory.get_network_fn("resnet_v2_50", 5, is_training=True,
                                     batch_norm_training_scopes=scopes)
    fn(tf.compat.v1.placeholder(tf.float32, [2, 64, 64, 3]))
    with pytest.raises(ValueError, match=r"--freeze_batch_norm: batch norm "
                       r"resnet_v2_50/block4/unit_1/bottleneck_v2/preact is inside "
                       r"--trainable_scopes.*inference mode") as err:
      nets_factory.check_batch_norm_modes(
          slim.get_model_variables(),
          tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS), scopes)
  assert "\n" not in str(err.value)
