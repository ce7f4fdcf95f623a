"""Export for serving.

SavedModel (``export_saved_model``), built from the model spec like every
other consumer (``model.InferenceGraph``), with two signatures:

  ``serving_default``  ``image_bytes``: [N] strings, a client's ORIGINAL
                       PNG/JPEG files. The graph prepares them as conversion
                       prepared the training records (intensity scaling,
                       black-border crop, grayscale, aspect-keeping pad or
                       stretch resize, Ben Graham, bit depth:
                       datasets/imaging_graph.py), then applies training's
                       eval preprocessing.
  ``prepared``         ``image_bytes``: pixels already prepared by
                       ``datasets.imaging.read_and_prepare`` with the spec's
                       ``imaging`` settings (what records hold and predict
                       feeds): bit-identical to eval and predict. DICOM goes
                       this way: windowing and DICOM decoding are not in the
                       graph.

Both return ``probabilities`` [N, C] and ``classes`` [N] (argmax; for
multi-label data the multi-hot ``p >= 0.5``). ``assets.extra/`` holds
model_spec.json (with a ``serving`` note), labels.txt and README.txt saying
the above for this model.

Inference GraphDef (``export_inference_graph``): TF-Slim's option, a GraphDef
with a float ``input`` placeholder [batch, S, S, 3] of preprocessed images and
no variables, for freeze_graph and friends.
"""
import dataclasses
import json
import os
from typing import Dict, Optional

from absl import logging

from flagdefs import option
from tf_compat import tf
from datasets import dataset_info as info_lib
from datasets import imaging_graph
from deployment import precision as precision_lib
from inference import model as model_lib
from nets import model_spec

SIGNATURE_KEY = "serving_default"
PREPARED_SIGNATURE_KEY = "prepared"
INPUT_KEY = "image_bytes"


@dataclasses.dataclass
class ExportOptions:
  """An export. Each ``option(...)`` field IS its export_inference_graph.py
  flag (same name, default and help; flagdefs.py defines the flags and builds
  this from them). checkpoint_path, master and model_overrides are the flags
  every inference script shares (inference_flags.py); without a checkpoint
  only the GraphDef is written, its model from model_overrides and
  dataset_dir."""
  checkpoint_path: Optional[str] = None
  model_overrides: dict = dataclasses.field(default_factory=dict)
  # ModelSpec field -> flag, for messages (export's input size is --image_size).
  model_flag_names: Optional[Dict[str, str]] = None
  dataset_dir: Optional[str] = option(
      "Optional with --checkpoint_path (checked against the model); needed "
      "for a GraphDef without one.", default=None)
  output_dir: Optional[str] = option("Where the SavedModel goes (a new folder).",
                                     default=None)
  output_file: Optional[str] = option(
      "Also write TF-Slim's inference GraphDef here.", default=None)
  batch_size: Optional[int] = option(
      "Batch size of the GraphDef's input (None = any).", default=None)
  master: str = ""


def run(options: ExportOptions) -> model_spec.ModelSpec:
  """Writes TF-Slim's GraphDef (``output_file``) and/or the SavedModel
  (``output_dir``: needs ``checkpoint_path``, the weights; a GraphDef without
  one needs ``dataset_dir``, the classes). Returns the model spec."""
  from inference import predict
  from nets import checkpoints as ckpt_lib
  if options.checkpoint_path:
    checkpoint = ckpt_lib.resolve(options.checkpoint_path)
    config = predict.load_spec(checkpoint, options.model_overrides,
                               options.dataset_dir, options.model_flag_names)
  else:
    config = predict.spec_from_flags(options.model_overrides, options.dataset_dir)
  if options.output_file:
    export_inference_graph(config, options.output_file, options.batch_size)
  if options.output_dir:
    export_saved_model(config, checkpoint, options.output_dir, options.master)
  return config


def _add_outputs(graph: model_lib.InferenceGraph):
  if graph.config.multilabel:
    graph.classes = tf.cast(graph.probabilities >= 0.5, tf.int64, name="classes")
  else:
    graph.classes = tf.argmax(graph.probabilities, axis=1, name="classes")


def serving_note(config: model_lib.ModelSpec) -> dict:
  """What each signature expects, for this model."""
  return {
      SIGNATURE_KEY: "original PNG/JPEG bytes; in the graph: %s; then %s "
                     "preprocessing to %d px" % (
                         imaging_graph.describe(config.imaging),
                         config.preprocessing_name, config.input_size),
      PREPARED_SIGNATURE_KEY: "bytes of datasets.imaging.read_and_prepare(path, "
                              "model_spec.json['imaging']) encoded as PNG, as "
                              "predict_image_classifier.py prepares them",
      "not_in_graph": "DICOM decoding and windowing (dicom_window=%s): prepare "
                      "DICOM files with read_and_prepare and use the '%s' "
                      "signature" % (config.imaging.get("dicom_window", "auto"),
                                     PREPARED_SIGNATURE_KEY),
      "precision": precision_note(config.mixed_precision),
  }


def precision_note(mixed_precision) -> str:
  """The SavedModel's graph and weights are float32 either way: 16-bit compute
  is a rewrite of the session's graph options, which a SavedModel does not
  carry, so the note says what a server must set to get it."""
  if not mixed_precision:
    return "float32 graph and weights; float32 compute (mixed_precision=false)"
  options = precision_lib.REWRITE_OPTION
  return ("float32 graph and weights; this model runs with mixed_precision=true "
          "(16-bit compute, float32 variables): a SavedModel cannot carry that, "
          "so a server computes in float32 unless its session ConfigProto sets "
          "graph_options.rewrite_options.%s (CPUs with AVX512-BF16 or AMX) or "
          "%s (GPUs) to ON; float32 and 16-bit compute give the same class for "
          "almost every image" % (options[precision_lib.MIXED_BFLOAT16],
                                  options[precision_lib.MIXED_FLOAT16]))


def export_saved_model(config: model_lib.ModelSpec, checkpoint_path: str,
                       output_dir: str, master: str = "") -> str:
  """Writes a SavedModel to ``output_dir`` (which must not exist yet); the
  weights are restored in a session of ``master``."""
  if tf.io.gfile.exists(output_dir):
    raise ValueError("--output_dir %s exists; SavedModel needs a new folder"
                     % output_dir)
  graph = model_lib.InferenceGraph(config, checkpoint_path, master,
                                   extra=_add_outputs, original_input=True)
  note = serving_note(config)
  try:
    with graph.graph.as_default():
      outputs = {"probabilities": graph.probabilities, "classes": graph.classes}
      predict_def = tf.compat.v1.saved_model.signature_def_utils.predict_signature_def
      signatures = {
          SIGNATURE_KEY: predict_def(inputs={INPUT_KEY: graph.original},
                                     outputs=outputs),
          PREPARED_SIGNATURE_KEY: predict_def(inputs={INPUT_KEY: graph.encoded},
                                              outputs=outputs),
      }
      builder = tf.compat.v1.saved_model.Builder(output_dir)
      builder.add_meta_graph_and_variables(
          graph.session, [tf.compat.v1.saved_model.tag_constants.SERVING],
          signature_def_map=signatures, strip_default_attrs=True)
      builder.save()
  finally:
    graph.close()
  extra = os.path.join(output_dir, "assets.extra")
  tf.io.gfile.makedirs(extra)
  with tf.io.gfile.GFile(os.path.join(extra, info_lib.LABELS_FILENAME), "w") as f:
    f.write("".join("%d:%s\n" % (i, n)
                    for i, n in enumerate(config.output_class_names)))
  spec = json.loads(config.to_json())
  spec["serving"] = note
  with tf.io.gfile.GFile(os.path.join(extra, model_spec.SPEC_FILENAME), "w") as f:
    f.write(json.dumps(spec, indent=2, sort_keys=True) + "\n")
  with tf.io.gfile.GFile(os.path.join(extra, "README.txt"), "w") as f:
    f.write("Signatures of this SavedModel (outputs: probabilities [N, %d], "
            "classes [N]; classes in labels.txt):\n" % config.num_outputs)
    for key, text in note.items():
      f.write("- %s: %s\n" % (key, text))
  logging.info("Wrote SavedModel to %s", output_dir)
  return output_dir


def load_saved_model(export_dir: str, signature: str = SIGNATURE_KEY,
                     mixed_precision: bool = False):
  """A callable ``fn(list of encoded bytes) -> probabilities`` (graph mode),
  as a client would use the export (``mixed_precision``: in the 16-bit
  session config of deployment.precision)."""
  graph = tf.Graph()
  sess = tf.compat.v1.Session(graph=graph, config=precision_lib.session_config(
      precision_lib.choose(mixed_precision)))
  with graph.as_default():
    meta = tf.compat.v1.saved_model.loader.load(
        sess, [tf.compat.v1.saved_model.tag_constants.SERVING], export_dir)
  sig = meta.signature_def[signature]
  input_name = sig.inputs[INPUT_KEY].name
  output_name = sig.outputs["probabilities"].name

  def fn(encoded):
    return sess.run(output_name, {input_name: list(encoded)})

  fn.session = sess
  return fn


def export_inference_graph(config: model_lib.ModelSpec, output_file: str,
                           batch_size=None) -> str:
  """TF-Slim's inference GraphDef: ``input`` [batch, S, S, 3] float32
  (preprocessed) -> ``probabilities``; variables left as variables."""
  with tf.Graph().as_default() as graph:
    size = config.input_size
    images = tf.compat.v1.placeholder(tf.float32, [batch_size, size, size, 3],
                                      name="input")
    model_lib.logits_and_probabilities(images, config)
    graph_def = graph.as_graph_def()
  directory = os.path.dirname(output_file)
  if directory:
    tf.io.gfile.makedirs(directory)
  with tf.io.gfile.GFile(output_file, "wb") as f:
    f.write(graph_def.SerializeToString())
  logging.info("Wrote inference GraphDef to %s", output_file)
  return output_file
