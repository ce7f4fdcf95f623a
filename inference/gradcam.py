"""Where the net looks: Grad-CAM and guided backprop.

Grad-CAM (Selvaraju et al. 2017): for a class score y_c (the logit) and a
conv layer's activations A [h, w, K], weight each channel by its spatially
averaged gradient, a_k = mean(dy_c / dA_k), and take ReLU(sum_k a_k A_k),
upsampled to the input. Guided backprop (Springenberg et al. 2015) passes
only positive gradients through ReLUs back to the pixels; guided Grad-CAM is
their product. The pneumoconiosis study used guided backprop to see its model
reading ribs instead of opacities.

Images go through ``model.InferenceGraph`` (the predict / eval path); the
overlay PNG shows the prepared image next to the heatmap on the net input.
"""
import dataclasses
import io
import os
from typing import List, Optional

import numpy as np
from absl import logging
from PIL import Image

from flagdefs import option
from tf_compat import tf
from inference import model as model_lib

GUIDED_RELU = "SlimMedGuidedRelu"
_EXCLUDE = ("logits", "predictions", "aux", "prelogits", "global_pool", "pool",
            "dropout", "spatialsqueeze")


def _register_guided_relu():
  try:
    @tf.RegisterGradient(GUIDED_RELU)
    def _guided_relu_grad(op, grad):  # pylint: disable=unused-variable
      positive_in = tf.cast(op.outputs[0] > 0, grad.dtype)
      return tf.nn.relu(grad) * positive_in
  except KeyError:  # already registered in this process
    pass


_register_guided_relu()


def default_layer(end_points, min_size: int = 7) -> str:
  """The last conv end point whose spatial size is at least ``min_size``:
  Mixed_7c for InceptionV3 at 299 px (8x8), block4 of ResNet at 224 (7x7);
  at small inputs an earlier block (Mixed_5d, 9x9, at 96 px), since a 4x4 or
  1x1 map cannot localise anything."""
  chosen = None
  for name, tensor in end_points.items():
    if any(word in name.lower().rsplit("/", 1)[-1] for word in _EXCLUDE):
      continue
    shape = tensor.shape
    if shape.rank == 4 and shape[1] is not None and shape[1] >= min_size \
        and shape[2] >= min_size:
      chosen = name
  if chosen is None:
    raise ValueError("No convolutional end point of at least %dx%d; pass --layer "
                     "or a larger --eval_image_size" % (min_size, min_size))
  return chosen


@dataclasses.dataclass
class Explanation:
  probabilities: np.ndarray    # [C]
  class_index: int             # explained class (net output index)
  cam: np.ndarray              # [S, S] in [0, 1]
  image: np.ndarray            # [S, S, 3] net input shown in [0, 1]
  guided: Optional[np.ndarray] = None   # [S, S, 3] in [0, 1]


class Explainer:
  """Grad-CAM (and optionally guided backprop) over the inference graph."""

  def __init__(self, config: model_lib.ModelSpec, checkpoint_path: str,
               layer: Optional[str] = None, guided: bool = False,
               master: str = ""):
    self.guided = guided
    self.layer = layer

    def extra(g):
      # -1 = explain the predicted class
      g.class_index = tf.compat.v1.placeholder_with_default(
          tf.constant([-1], tf.int64), [None], name="class_index")
      predicted = tf.argmax(g.logits, axis=1)
      index = tf.where(g.class_index >= 0,
                       g.class_index * tf.ones_like(predicted), predicted)
      g.explained = index
      name = self.layer or default_layer(g.end_points)
      if name not in g.end_points:
        raise ValueError("--layer=%s is not an end point of %s; choose one of %s"
                         % (name, config.model_name, ", ".join(g.end_points)))
      self.layer = name
      features = g.end_points[name]
      one_hot = tf.one_hot(index, config.num_outputs, dtype=g.logits.dtype)
      score = tf.reduce_sum(g.logits * one_hot)
      grads = tf.gradients(score, features)[0]
      weights = tf.reduce_mean(grads, axis=[1, 2], keepdims=True)
      cam = tf.nn.relu(tf.reduce_sum(weights * features, axis=-1, keepdims=True))
      size = config.input_size
      cam = tf.image.resize(cam, [size, size], method="bilinear")[..., 0]
      peak = tf.reduce_max(cam, axis=[1, 2], keepdims=True)
      g.cam = tf.math.divide_no_nan(cam, peak)
      if guided:
        with g.graph.gradient_override_map({"Relu": GUIDED_RELU}):
          with tf.compat.v1.variable_scope(tf.compat.v1.get_variable_scope(),
                                           reuse=True):
            guided_logits, _, _ = model_lib.logits_and_probabilities(g.images, config)
        guided_score = tf.reduce_sum(guided_logits * one_hot)
        g.guided = tf.gradients(guided_score, g.images)[0]

    self.graph = model_lib.InferenceGraph(config, checkpoint_path, master, extra=extra)
    logging.info("Grad-CAM on layer %s", self.layer)

  def explain(self, encoded: List[bytes], class_index: Optional[int] = None
              ) -> List[Explanation]:
    g = self.graph
    fetches = {"p": g.probabilities, "cam": g.cam, "images": g.images,
               "index": g.explained}
    if self.guided:
      fetches["guided"] = g.guided
    feed = {} if class_index is None else {g.class_index: [int(class_index)]}
    out = g.run(fetches, encoded, feed)
    results = []
    for i in range(len(encoded)):
      guided = None
      if self.guided:
        guided = _normalise_gradient(out["guided"][i])
      results.append(Explanation(out["p"][i], int(out["index"][i]), out["cam"][i],
                                 _displayable(out["images"][i]), guided))
    return results

  def close(self):
    self.graph.close()


def _displayable(image):
  """Net input (e.g. [-1, 1], or standardised) -> [0, 1] for display."""
  low, high = float(image.min()), float(image.max())
  return (image - low) / (high - low) if high > low else np.zeros_like(image)


def _normalise_gradient(grad):
  grad = grad - grad.mean()
  scale = grad.std() or 1.0
  return np.clip(grad / (3 * scale) * 0.5 + 0.5, 0.0, 1.0)


def _colormap(cam):
  import matplotlib
  matplotlib.use("Agg")
  return matplotlib.colormaps["jet"](cam)[..., :3]


def render(original: np.ndarray, explanation: Explanation, title: str = "",
           alpha: float = 0.45) -> np.ndarray:
  """uint8 RGB panel: original | Grad-CAM overlay [| guided | guided Grad-CAM]."""
  size = explanation.image.shape[0]
  if original.dtype == np.uint16:
    original = (original / 257.0).astype(np.uint8)
  if original.shape[2] == 1:
    original = np.repeat(original, 3, axis=2)
  orig = np.asarray(Image.fromarray(original.astype(np.uint8)).resize(
      (size, size), Image.BILINEAR), dtype=np.float32) / 255.0
  overlay = (1 - alpha) * explanation.image + alpha * _colormap(explanation.cam)
  panels = [orig, overlay]
  if explanation.guided is not None:
    panels.append(explanation.guided)
    guided_cam = (explanation.guided - 0.5) * explanation.cam[..., None] + 0.5
    panels.append(np.clip(guided_cam, 0, 1))
  gap = np.ones((size, 4, 3), np.float32)
  row = panels[0]
  for panel in panels[1:]:
    row = np.concatenate([row, gap, panel], axis=1)
  return (np.clip(row, 0, 1) * 255).round().astype(np.uint8)


def save_png(array: np.ndarray, path: str) -> None:
  buf = io.BytesIO()
  Image.fromarray(array).save(buf, format="PNG")
  with tf.io.gfile.GFile(path, "wb") as f:
    f.write(buf.getvalue())


@dataclasses.dataclass
class VisualizeOptions:
  """A Grad-CAM run. Each ``option(...)`` field IS its
  visualize_image_classifier.py flag (same name, default and help;
  flagdefs.py defines the flags and builds this from them). checkpoint_path,
  master and model_overrides are the flags every inference script shares
  (inference_flags.py)."""
  checkpoint_path: str
  input: str = option("An image, a folder, a CSV list, DICOMs or a glob.",
                      flag_default=None)
  output_dir: str = option("Where the PNGs go.", flag_default=None)
  model_overrides: dict = dataclasses.field(default_factory=dict)
  dataset_dir: Optional[str] = option(
      "Optional: a converted dataset to check against the model.", default=None)
  class_name: Optional[str] = option(
      "Explain this class (default: the predicted one).", default=None)
  layer: Optional[str] = option(
      "End point to explain (default: the last conv block at least 7x7, e.g. "
      "Mixed_7c for InceptionV3 at 299 px).", default=None)
  guided_backprop: bool = option(
      "Add guided backprop and guided Grad-CAM panels.", default=False)
  master: str = ""


def run(options: VisualizeOptions):
  """One ``<id>_gradcam.png`` per readable input in --output_dir.

  Returns {id: (png path, Explanation)} and the list of failures.
  """
  from datasets import imaging
  from nets import checkpoints as ckpt_lib
  from inference import predict
  checkpoint = ckpt_lib.resolve(options.checkpoint_path)
  config = predict.load_spec(checkpoint, options.model_overrides,
                             options.dataset_dir)
  class_index = None
  if options.class_name is not None:
    names = config.output_class_names
    if options.class_name not in names:
      raise ValueError("--class_name=%s is not a class of the model: %s"
                       % (options.class_name, ", ".join(names)))
    class_index = names.index(options.class_name)
  items, failures = predict.list_inputs(options.input)
  tf.io.gfile.makedirs(options.output_dir)
  explainer = Explainer(config, checkpoint, options.layer, options.guided_backprop,
                        options.master)
  written = {}
  try:
    for item in items:
      try:
        array = imaging.read_and_prepare(item.path, config.imaging)
      except (imaging.ImageReadError, ValueError, OSError) as err:
        failures.append(predict.Failure(item.path, str(err)))
        logging.warning("Skipping unreadable %s", err)
        continue
      [explanation] = explainer.explain([imaging.encode(array, "png")], class_index)
      path = os.path.join(options.output_dir, "%s_gradcam.png" % item.id)
      save_png(render(array, explanation), path)
      written[item.id] = (path, explanation)
      logging.info("%s: class %s (p=%.3f) -> %s", item.id,
                   config.output_class_names[explanation.class_index],
                   explanation.probabilities[explanation.class_index], path)
  finally:
    explainer.close()
  print("%d heatmaps (layer %s) in %s, %d unreadable"
        % (len(written), explainer.layer, options.output_dir, len(failures)),
        flush=True)
  return written, failures
