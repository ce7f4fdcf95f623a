"""The inference model, built in one place for eval, predict, export, visualize.

    images [N,H,W,3] (already preprocessed)  -> logits -> probabilities
    encoded bytes [N] -> decode -> [0,1] -> eval preprocessing -> the above

Probabilities are a softmax for multi-class data and a per-finding sigmoid for
multi-label data. With ``labels_offset`` (TF-Slim's flag: ImageNet's background
class) the net has ``num_classes - labels_offset`` outputs and class ``i`` of
the net is class ``i + labels_offset`` of the dataset.

``make_saver`` restores the moving-average ("shadow") weights when
``moving_average_decay`` is set, as TF-Slim's eval script does.
"""
import dataclasses
import json
import os
import re
from typing import Dict, List, Optional

from absl import logging

from tf_compat import slim, tf
from datasets import tfexample
from deployment import precision as precision_lib
from nets import nets_factory
from preprocessing import preprocessing_factory

TRAINING_FLAGS_FILENAME = "flags.json"


@dataclasses.dataclass
class ModelConfig:
  """Everything needed to rebuild the trained graph for inference."""
  model_name: str
  class_names: List[str]                # of the dataset (before labels_offset)
  multilabel: bool = False
  labels_offset: int = 0
  depth_multiplier: Optional[float] = None
  image_size: Optional[int] = None      # --eval_image_size; None = net default
  preprocessing_name: Optional[str] = None
  preprocessing_options: Dict = dataclasses.field(default_factory=dict)
  moving_average_decay: Optional[float] = None
  channels: int = 3                     # of the stored images (1 or 3)
  bit_depth: int = 8
  mixed_precision: bool = False         # 16-bit inference (deployment.precision)

  def __post_init__(self):
    nets_factory.get_spec(self.model_name)   # fails early on a bad name
    if self.labels_offset and self.multilabel:
      raise ValueError("--labels_offset applies to multi-class data only")
    if self.labels_offset >= len(self.class_names):
      raise ValueError("--labels_offset=%d leaves no class of %d"
                       % (self.labels_offset, len(self.class_names)))

  @property
  def spec(self):
    return nets_factory.get_spec(self.model_name)

  @property
  def num_outputs(self) -> int:
    return len(self.class_names) - self.labels_offset

  @property
  def output_class_names(self) -> List[str]:
    """Names of the net's outputs, in order."""
    return list(self.class_names[self.labels_offset:])

  @property
  def input_size(self) -> int:
    return int(self.image_size or self.spec.default_image_size)

  @property
  def preprocessing(self) -> str:
    return self.preprocessing_name or self.spec.preprocessing


def read_training_flags(checkpoint_path: str) -> Dict:
  """flags.json written by training next to its checkpoints ({} if absent)."""
  directory = (checkpoint_path if tf.io.gfile.isdir(checkpoint_path)
               else os.path.dirname(checkpoint_path))
  path = os.path.join(directory, TRAINING_FLAGS_FILENAME)
  if not tf.io.gfile.exists(path):
    return {}
  try:
    with tf.io.gfile.GFile(path, "r") as f:
      data = json.load(f)
  except ValueError as err:
    logging.warning("Ignoring unreadable %s: %s", path, err)
    return {}
  return data.get("flags", data) if isinstance(data, dict) else {}


def fill_from_training(checkpoint_path: str, depth_multiplier=None,
                       preprocessing_name=None, image_size=None,
                       model_name=None, mixed_precision=None) -> Dict:
  """Flags the user left unset take the values training recorded in
  flags.json, so an eval cannot silently differ from training; an explicit
  model name that disagrees with training is an error."""
  trained = read_training_flags(checkpoint_path)
  if model_name and trained.get("model_name") and trained["model_name"] != model_name:
    raise ValueError("--model_name=%s but the checkpoint was trained with "
                     "--model_name=%s (flags.json next to it)"
                     % (model_name, trained["model_name"]))
  out = {"depth_multiplier": depth_multiplier,
         "preprocessing_name": preprocessing_name, "image_size": image_size,
         "mixed_precision": mixed_precision}
  for key, train_key in (("depth_multiplier", "depth_multiplier"),
                         ("preprocessing_name", "preprocessing_name"),
                         ("image_size", "train_image_size"),
                         ("mixed_precision", "mixed_precision")):
    if out[key] is None and trained.get(train_key) not in (None, "", 0):
      out[key] = trained[train_key]
      logging.info("Using %s=%s from training's flags.json", key, out[key])
  return out


def config_for(checkpoint_path: str, info, model_name: str,
               labels_offset: int = 0, depth_multiplier=None, image_size=None,
               preprocessing_name=None,
               moving_average_decay=None, mixed_precision=None) -> ModelConfig:
  """The ModelConfig of a checkpoint for a dataset (``DatasetInfo``): flags
  left unset take training's values from flags.json."""
  filled = fill_from_training(checkpoint_path, depth_multiplier,
                              preprocessing_name, image_size, model_name,
                              mixed_precision)
  return ModelConfig(
      model_name=model_name, class_names=list(info.class_names),
      multilabel=info.multilabel, labels_offset=labels_offset,
      depth_multiplier=filled["depth_multiplier"],
      image_size=filled["image_size"],
      preprocessing_name=filled["preprocessing_name"],
      moving_average_decay=moving_average_decay,
      channels=info.channels, bit_depth=info.bit_depth,
      mixed_precision=bool(filled["mixed_precision"]))


def session_config(config: ModelConfig):
  """ConfigProto of every inference session: float32, or the 16-bit rewrite
  --mixed_precision picks for this machine (deployment.precision)."""
  precision = precision_lib.choose(config.mixed_precision)
  precision_lib.log(precision, "Inference")
  return precision_lib.session_config(precision)


def preprocess_fn(config: ModelConfig):
  return preprocessing_factory.get_preprocessing(
      config.preprocessing, is_training=False, **config.preprocessing_options)


def logits_and_probabilities(images, config: ModelConfig):
  """images [N,H,W,3] in the net's range -> (logits, probabilities, end_points)."""
  network_fn = nets_factory.get_network_fn(
      config.model_name, num_classes=config.num_outputs, is_training=False,
      depth_multiplier=config.depth_multiplier)
  kwargs = {}
  if config.spec.has_aux_logits:
    # The auxiliary head only helps training; without it small inputs work
    # (InceptionV3's needs >= 107 px) and its checkpoint variables are ignored.
    kwargs["create_aux_logits"] = False
  logits, end_points = network_fn(images, **kwargs)
  if config.multilabel:
    probabilities = tf.sigmoid(logits, name="probabilities")
  else:
    probabilities = tf.nn.softmax(logits, name="probabilities")
  return logits, probabilities, end_points


# Stored pixels are decoded in one place, shared with the record reader.
decode_image = tfexample.decode_image


def images_from_encoded(encoded, config: ModelConfig):
  """[N] encoded images -> [N,S,S,3] preprocessed exactly as eval does."""
  fn = preprocess_fn(config)
  size = config.input_size

  def one(data):
    image = fn(decode_image(data, config.channels, config.bit_depth), size, size)
    image.set_shape([size, size, 3])
    return image

  return tf.map_fn(one, encoded, fn_output_signature=tf.TensorSpec(
      [size, size, 3], tf.float32), back_prop=False)


def variables_to_restore(config: ModelConfig):
  if config.moving_average_decay:
    ema = tf.compat.v1.train.ExponentialMovingAverage(config.moving_average_decay)
    return ema.variables_to_restore(slim.get_model_variables())
  return {v.op.name: v for v in slim.get_variables_to_restore()}


def make_saver(config: ModelConfig):
  var_map = variables_to_restore(config)
  saver = tf.compat.v1.train.Saver(var_map)
  saver.var_map = var_map
  return saver


def check_shapes(var_map: Dict, checkpoint_path: str, config: ModelConfig) -> None:
  """Resource variables take whatever shape the checkpoint holds, silently,
  so a wrong --depth_multiplier would "restore" and give a graph whose static
  shapes lie. Compare first and name the flag."""
  try:
    shapes = tf.train.load_checkpoint(checkpoint_path).get_variable_to_shape_map()
  except (tf.errors.NotFoundError, tf.errors.DataLossError, ValueError) as err:
    raise ValueError("Cannot read checkpoint %s (%s)"
                     % (checkpoint_path, _first_line(err))) from None
  for name, var in sorted(var_map.items()):
    if name not in shapes:
      continue   # reported by restore with its own hint
    want = var.shape.as_list()
    if list(shapes[name]) != want:
      raise ValueError(
          "Cannot restore %s: %s is %s in the checkpoint but %s in the graph. "
          "--depth_multiplier (now %s) must match training, and the net must "
          "have the %d outputs it was trained with (--labels_offset=%d)."
          % (checkpoint_path, name, list(shapes[name]), want,
             config.depth_multiplier, config.num_outputs, config.labels_offset))


def restore(saver, sess, checkpoint_path: str, config: ModelConfig) -> None:
  """saver.restore with an error that says which flag is probably wrong."""
  if getattr(saver, "var_map", None):
    check_shapes(saver.var_map, checkpoint_path, config)
  try:
    with sess.graph.as_default():   # Saver.restore outside it thinks it is eager
      saver.restore(sess, checkpoint_path)
  except tf.errors.NotFoundError as err:
    hint = ("the checkpoint has no moving averages: drop --moving_average_decay"
            if config.moving_average_decay and "ExponentialMovingAverage" in str(err)
            else "check --model_name=%s matches training" % config.model_name)
    raise ValueError("Cannot restore %s: a variable is missing (%s). %s."
                     % (checkpoint_path, _first_line(err), hint)) from None
  except tf.errors.InvalidArgumentError as err:
    raise ValueError(
        "Cannot restore %s: variable shapes differ (%s). --depth_multiplier "
        "(now %s) must match training, and the dataset must have the classes "
        "the net was trained on (%d outputs, --labels_offset=%d)."
        % (checkpoint_path, _first_line(err), config.depth_multiplier,
           config.num_outputs, config.labels_offset)) from None


def _first_line(err):
  return str(getattr(err, "message", err)).strip().splitlines()[0][:300]


class InferenceGraph:
  """encoded image bytes [N] -> eval preprocessing -> net -> probabilities,
  in its own graph and session, restored from a checkpoint. Used by predict,
  export and visualize (eval reads records instead, through the same
  preprocessing and ``logits_and_probabilities``).

  ``extra(graph_namespace)`` may add ops (e.g. gradients) before the saver and
  session are made.
  """

  def __init__(self, config: ModelConfig, checkpoint_path: Optional[str] = None,
               master: str = "", extra=None):
    self.config = config
    self.graph = tf.Graph()
    with self.graph.as_default():
      self.encoded = tf.compat.v1.placeholder(tf.string, [None], name="image_bytes")
      self.images = tf.identity(images_from_encoded(self.encoded, config),
                                name="images")
      self.logits, self.probabilities, self.end_points = logits_and_probabilities(
          self.images, config)
      if extra is not None:
        extra(self)
      self.saver = make_saver(config)
    self.session = tf.compat.v1.Session(target=master, graph=self.graph,
                                        config=session_config(config))
    self.checkpoint_path = checkpoint_path
    if checkpoint_path:
      restore(self.saver, self.session, checkpoint_path, config)

  def run(self, fetches, encoded, feed=None):
    feed_dict = {self.encoded: list(encoded)}
    feed_dict.update(feed or {})
    return self.session.run(fetches, feed_dict)

  def close(self):
    self.session.close()


def global_step_of(checkpoint_path: str) -> int:
  """The training step of a checkpoint: its global_step, else the -<n> suffix."""
  try:
    return int(tf.train.load_variable(checkpoint_path, "global_step"))
  except Exception:  # no such variable, or not a readable checkpoint
    match = re.search(r"-(\d+)$", checkpoint_path)
    return int(match.group(1)) if match else 0
