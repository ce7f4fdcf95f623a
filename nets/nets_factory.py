"""Model registry over ``tf_slim.nets``: TF-Slim model names, official scopes.

``get_network_fn(name, num_classes, ...)`` returns ``fn(images) -> (logits,
end_points)`` built inside the net's own arg_scope, exactly as TF-Slim's
factory does, with ``fn.default_image_size`` set. Variable names are those of
the official TF-Slim checkpoints (``InceptionV3/Mixed_7c/...``), so the
published ImageNet checkpoints restore unchanged.

Frozen batch norm (``batch_norm_training_scopes``, what --freeze_batch_norm
uses): the tf_slim nets set batch norm's ``is_training`` through an arg_scope
inside the net function, so it cannot be overridden from outside. Every
batch norm of InceptionV1/V2/V3 and ResNet v1 (and most of ResNet v2's) is a
convolution's ``normalizer_fn``, which the net's arg_scope names; the factory
swaps that entry for a wrapper that passes an explicit ``is_training`` (which
wins over arg_scope values) chosen from the layer's variable scope: training
mode inside the scopes, inference mode (moving mean/variance, no update op)
elsewhere. ResNet v2 also calls batch norm directly (each unit's ``preact``
and ``postnorm``); ResNets have no dropout, so they are built with
is_training=False and those direct calls run in inference mode.
``check_batch_norm_modes`` verifies the built graph either way. VGG and
AlexNet have no batch norm.
"""
import dataclasses
import functools
import inspect
from typing import Callable, Optional

from tf_compat import slim, tf
from tf_slim.nets import alexnet
from tf_slim.nets import inception
from tf_slim.nets import resnet_v1
from tf_slim.nets import resnet_v2
from tf_slim.nets import vgg

from nets import tiny


@dataclasses.dataclass(frozen=True)
class NetSpec:
  """What the rest of the pipeline needs to know about one network."""
  fn: Callable
  arg_scope: Callable
  default_image_size: int
  scope: str                      # top variable scope, e.g. 'InceptionV3'
  logits_scopes: tuple            # what to exclude when fine-tuning to new classes
  preprocessing: str              # default --preprocessing_name
  supports_depth_multiplier: bool = False
  has_aux_logits: bool = False
  # Official ImageNet checkpoints of these nets carry a background class.
  imagenet_num_classes: int = 1001


NETWORKS = {
    "alexnet_v2": NetSpec(alexnet.alexnet_v2, alexnet.alexnet_v2_arg_scope, 224,
                          "alexnet_v2", ("alexnet_v2/fc8",), "vgg",
                          imagenet_num_classes=1000),
    "vgg_16": NetSpec(vgg.vgg_16, vgg.vgg_arg_scope, 224, "vgg_16",
                      ("vgg_16/fc8",), "vgg", imagenet_num_classes=1000),
    "vgg_19": NetSpec(vgg.vgg_19, vgg.vgg_arg_scope, 224, "vgg_19",
                      ("vgg_19/fc8",), "vgg", imagenet_num_classes=1000),
    "inception_v1": NetSpec(inception.inception_v1, inception.inception_v1_arg_scope,
                            224, "InceptionV1", ("InceptionV1/Logits",), "inception",
                            supports_depth_multiplier=False),
    "inception_v2": NetSpec(inception.inception_v2, inception.inception_v2_arg_scope,
                            224, "InceptionV2", ("InceptionV2/Logits",), "inception",
                            supports_depth_multiplier=True),
    "inception_v3": NetSpec(inception.inception_v3, inception.inception_v3_arg_scope,
                            299, "InceptionV3",
                            ("InceptionV3/Logits", "InceptionV3/AuxLogits"), "inception",
                            supports_depth_multiplier=True, has_aux_logits=True),
    "resnet_v1_50": NetSpec(resnet_v1.resnet_v1_50, resnet_v1.resnet_arg_scope, 224,
                            "resnet_v1_50", ("resnet_v1_50/logits",), "vgg",
                            imagenet_num_classes=1000),
    "resnet_v1_101": NetSpec(resnet_v1.resnet_v1_101, resnet_v1.resnet_arg_scope, 224,
                             "resnet_v1_101", ("resnet_v1_101/logits",), "vgg",
                             imagenet_num_classes=1000),
    "resnet_v1_152": NetSpec(resnet_v1.resnet_v1_152, resnet_v1.resnet_arg_scope, 224,
                             "resnet_v1_152", ("resnet_v1_152/logits",), "vgg",
                             imagenet_num_classes=1000),
    "resnet_v2_50": NetSpec(resnet_v2.resnet_v2_50, resnet_v2.resnet_arg_scope, 299,
                            "resnet_v2_50", ("resnet_v2_50/logits",), "inception"),
    "resnet_v2_101": NetSpec(resnet_v2.resnet_v2_101, resnet_v2.resnet_arg_scope, 299,
                             "resnet_v2_101", ("resnet_v2_101/logits",), "inception"),
    "resnet_v2_152": NetSpec(resnet_v2.resnet_v2_152, resnet_v2.resnet_arg_scope, 299,
                             "resnet_v2_152", ("resnet_v2_152/logits",), "inception"),
    # slim-med: CI-sized (two convolutions; no published checkpoint).
    "tiny_cnn": NetSpec(tiny.tiny_cnn, tiny.tiny_cnn_arg_scope, 32, "TinyCNN",
                        ("TinyCNN/Logits",), "inception"),
}


def _under(name: str, scopes) -> bool:
  return any(name == s or name.startswith(s.rstrip("/") + "/") for s in scopes)


def _scope_dependent_batch_norm(training_scopes):
  """A normalizer_fn: slim.batch_norm in training mode under
  ``training_scopes``, in inference mode elsewhere (by variable scope)."""
  def batch_norm(inputs, **params):
    layer = "/".join(filter(None, [tf.compat.v1.get_variable_scope().name,
                                   params.get("scope") or "BatchNorm"]))
    params["is_training"] = _under(layer + "/moving_mean", training_scopes)
    return slim.batch_norm(inputs, **params)
  return batch_norm


def _with_batch_norm_by_scope(arg_scope, training_scopes):
  """The net's arg_scope with every normalizer_fn=batch_norm made scope-dependent."""
  wrapper = _scope_dependent_batch_norm(training_scopes)
  out = {}
  for key, kwargs in arg_scope.items():
    if kwargs.get("normalizer_fn") is slim.batch_norm:
      kwargs = dict(kwargs, normalizer_fn=wrapper)
    out[key] = kwargs
  return out


def _updated_variable(update):
  """The variable an update op (or its output tensor) assigns, by name."""
  op = getattr(update, "op", update)
  return op.inputs[0].op.name if op.inputs else op.name


def check_batch_norm_modes(model_variables, update_ops, training_scopes):
  """Raises ValueError unless batch norm trains (has moving-statistics
  update ops) exactly in the layers under ``training_scopes``.

  Returns (layers in training mode, layers in inference mode).
  """
  layers = sorted({v.op.name[:-len("/moving_mean")] for v in model_variables
                   if v.op.name.endswith("/moving_mean")})
  assigned = {_updated_variable(op).rsplit("/", 1)[0] for op in update_ops}
  updated = {layer for layer in layers if layer in assigned}
  for layer in layers:
    wanted = _under(layer + "/moving_mean", training_scopes)
    if wanted != (layer in updated):
      raise ValueError(
          "--freeze_batch_norm: batch norm %s is %s --trainable_scopes but "
          "would run in %s mode (the net calls it directly, not as a "
          "convolution's normalizer, so its mode cannot be set per layer); "
          "choose --trainable_scopes %s it, or drop --freeze_batch_norm"
          % (layer, "inside" if wanted else "outside",
             "training" if layer in updated else "inference",
             "without" if wanted else "with"))
  return ([l for l in layers if l in updated], [l for l in layers if l not in updated])


def names():
  return sorted(NETWORKS)


def get_spec(name: str) -> NetSpec:
  if name not in NETWORKS:
    raise ValueError("Unknown --model_name %r; choose one of: %s"
                     % (name, ", ".join(names())))
  return NETWORKS[name]


def get_network_fn(name: str, num_classes: int, weight_decay: float = 0.0,
                   is_training: bool = False,
                   depth_multiplier: Optional[float] = None,
                   dropout_keep_prob: Optional[float] = None,
                   batch_norm_decay: Optional[float] = None,
                   batch_norm_training_scopes=None):
  """Returns ``network_fn(images, **kwargs) -> (logits, end_points)``.

  Args:
    name: a TF-Slim model name, see ``names()``.
    num_classes: logits width. 0 or None gives the pre-logits features.
    weight_decay: L2 regulariser on weights, added to REGULARIZATION_LOSSES.
    is_training: batch norm in training mode and dropout on.
    depth_multiplier: thins every conv layer (Inception v2/v3 only); 1.0 is the
      official size; tests and demos use small values.
    dropout_keep_prob: overrides the net's default.
    batch_norm_decay: overrides the arg_scope's moving-average decay.
    batch_norm_training_scopes: None keeps TF-Slim's behaviour (every batch
      norm follows ``is_training``). A list of scopes (with is_training=True):
      batch norm runs in training mode only in layers under them; every other
      layer normalises with its moving mean/variance and creates no update
      op. Verify the built graph with ``check_batch_norm_modes``.
  """
  spec = get_spec(name)
  scope_kwargs = {"weight_decay": weight_decay}
  if batch_norm_decay is not None:
    if "batch_norm_decay" not in inspect.signature(spec.arg_scope).parameters:
      raise ValueError("%s has no batch norm decay to set" % name)
    scope_kwargs["batch_norm_decay"] = batch_norm_decay
  net_kwargs = {}
  if depth_multiplier is not None and depth_multiplier != 1.0:
    if not spec.supports_depth_multiplier:
      raise ValueError("--depth_multiplier is supported by inception_v2 and "
                       "inception_v3 only, not %s" % name)
    net_kwargs["depth_multiplier"] = depth_multiplier
  if dropout_keep_prob is not None and not name.startswith("resnet"):
    net_kwargs["dropout_keep_prob"] = dropout_keep_prob

  if isinstance(batch_norm_training_scopes, str):
    batch_norm_training_scopes = [
        s.strip() for s in batch_norm_training_scopes.split(",") if s.strip()]
  by_scope = is_training and batch_norm_training_scopes is not None

  @functools.wraps(spec.fn)
  def network_fn(images, **kwargs):
    arg_scope = spec.arg_scope(**scope_kwargs)
    if by_scope:
      arg_scope = _with_batch_norm_by_scope(arg_scope, batch_norm_training_scopes)
    with slim.arg_scope(arg_scope):
      call_kwargs = dict(net_kwargs)
      call_kwargs.update(kwargs)
      if name.startswith("resnet_v"):
        # ResNets' is_training only reaches batch norm (they have no dropout).
        logits, end_points = spec.fn(images, num_classes=num_classes or None,
                                     is_training=is_training and not by_scope,
                                     **call_kwargs)
        if num_classes:
          # resnet returns [N, 1, 1, C] unless spatial_squeeze; normalise.
          logits = tf.reshape(logits, [-1, num_classes])
        return logits, end_points
      if (num_classes and "spatial_squeeze" not in call_kwargs and
          "spatial_squeeze" in inspect.signature(spec.fn).parameters):
        # Inputs larger than the default size (e.g. 512 px for small lesions)
        # leave a spatial grid of logits; average it (identical at 1x1).
        logits, end_points = spec.fn(images, num_classes=num_classes,
                                     is_training=is_training,
                                     spatial_squeeze=False, **call_kwargs)
        return _average_spatial_logits(logits, end_points)
      return spec.fn(images, num_classes=num_classes or 0,
                     is_training=is_training, **call_kwargs)

  network_fn.default_image_size = spec.default_image_size
  network_fn.spec = spec
  return network_fn


def _average_spatial_logits(logits, end_points):
  """[N, h, w, C] logits (and AuxLogits) -> [N, C] by spatial averaging."""
  def squeeze(tensor):
    if tensor.shape.rank == 4:
      return tf.reduce_mean(tensor, axis=[1, 2])
    return tensor
  logits = squeeze(logits)
  for key in ("Logits", "AuxLogits"):
    if key in end_points:
      end_points[key] = squeeze(end_points[key])
  end_points["Logits"] = logits
  if "Predictions" in end_points:
    end_points["Predictions"] = tf.nn.softmax(logits, name="Predictions")
  return logits, end_points
