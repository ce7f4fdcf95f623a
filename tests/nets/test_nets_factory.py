"""nets_factory: every listed net builds with the official TF-Slim variable names.

Graphs are built (shape inference only); nothing runs in a session, so the
big nets stay cheap.
"""
import pytest

from tf_compat import tf
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


def test_every_issue_net_is_registered():
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
