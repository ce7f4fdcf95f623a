"""The inference model, built in one place for eval, predict, export, visualize.

    images [N,H,W,3] (already preprocessed)  -> logits -> probabilities
    encoded bytes [N] -> decode -> [0,1] -> eval preprocessing -> the above

Everything is built from a ``nets.model_spec.ModelSpec`` (model_spec.json,
written by training): net, input size, preprocessing and every resolved
option, classes, labels offset, stored channels and bit depth.
Probabilities are a softmax for multi-class data and a per-finding sigmoid for
multi-label data. With ``labels_offset`` (TF-Slim's flag: ImageNet's background
class) the net has ``num_classes - labels_offset`` outputs and class ``i`` of
the net is class ``i + labels_offset`` of the dataset.

``make_saver`` restores the moving-average ("shadow") weights when
``moving_average_decay`` is set, as TF-Slim's eval script does.
"""
import re
from typing import Dict, Optional

from tf_compat import slim, tf
from datasets import imaging_graph
from datasets import tfexample
from deployment import precision as precision_lib
from nets import nets_factory
from nets.model_spec import ModelSpec


def preprocess_fn(spec: ModelSpec):
  return spec.preprocess_fn(is_training=False)


def session_config(config: ModelSpec):
  """ConfigProto of every inference session: float32, or the 16-bit rewrite
  --mixed_precision picks for this machine (deployment.precision); the spec's
  default is training's precision."""
  precision = precision_lib.choose(config.mixed_precision)
  precision_lib.log(precision, "Inference")
  return precision_lib.session_config(precision)


def logits_and_probabilities(images, config: ModelSpec):
  """images [N,H,W,3] in the net's range -> (logits, probabilities, end_points)."""
  network_fn = nets_factory.get_network_fn(
      config.model_name, num_classes=config.num_outputs, is_training=False,
      depth_multiplier=config.depth_multiplier)
  kwargs = {}
  if config.net.has_aux_logits:
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


def images_from_encoded(encoded, config: ModelSpec, original: bool = False):
  """[N] encoded images -> [N,S,S,3] preprocessed exactly as eval does.

  ``original=False``: the bytes hold pixels as the converter stored them
  (records, predict's ``imaging.read_and_prepare`` output). ``original=True``:
  a client's original PNG/JPEG, prepared in the graph with the conversion
  settings of the spec (``datasets/imaging_graph.py``).
  """
  fn = preprocess_fn(config)
  size = config.input_size

  def one(data):
    if original:
      pixels = imaging_graph.read_and_prepare(data, config.imaging)
    else:
      pixels = decode_image(data, config.channels, config.bit_depth)
    image = fn(pixels, size, size)
    image.set_shape([size, size, 3])
    return image

  return tf.map_fn(one, encoded, fn_output_signature=tf.TensorSpec(
      [size, size, 3], tf.float32), back_prop=False)


def variables_to_restore(config: ModelSpec):
  if config.moving_average_decay:
    ema = tf.compat.v1.train.ExponentialMovingAverage(config.moving_average_decay)
    return ema.variables_to_restore(slim.get_model_variables())
  return {v.op.name: v for v in slim.get_variables_to_restore()}


def make_saver(config: ModelSpec):
  var_map = variables_to_restore(config)
  saver = tf.compat.v1.train.Saver(var_map)
  saver.var_map = var_map
  return saver


def check_shapes(var_map: Dict, checkpoint_path: str, config: ModelSpec) -> None:
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


def restore(saver, sess, checkpoint_path: str, config: ModelSpec) -> None:
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
  session are made. With ``original_input=True`` a second input,
  ``original_bytes``, takes a client's original PNG/JPEG files (prepared in
  the graph); both inputs default to empty, so either can be fed alone.
  """

  def __init__(self, config: ModelSpec, checkpoint_path: Optional[str] = None,
               master: str = "", extra=None, original_input: bool = False):
    self.config = config
    self.graph = tf.Graph()
    with self.graph.as_default():
      if original_input:
        empty = tf.constant([], tf.string)
        self.encoded = tf.compat.v1.placeholder_with_default(
            empty, [None], name="image_bytes")
        self.original = tf.compat.v1.placeholder_with_default(
            empty, [None], name="original_bytes")
        images = tf.concat([images_from_encoded(self.encoded, config),
                            images_from_encoded(self.original, config, True)], 0)
      else:
        self.encoded = tf.compat.v1.placeholder(tf.string, [None],
                                                name="image_bytes")
        self.original = None
        images = images_from_encoded(self.encoded, config)
      self.images = tf.identity(images, name="images")
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
