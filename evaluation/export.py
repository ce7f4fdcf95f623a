"""Export for serving.

SavedModel (``export_saved_model``): signature ``serving_default`` takes
``image_bytes`` -- a [N] string tensor of encoded PNG/JPEG images as the
converter prepared them (what ``predict.prepare`` / ``imaging.encode`` of
``imaging.read_and_prepare`` give, i.e. the records' image/encoded) -- and
returns ``probabilities`` [N, C] and ``classes`` [N] (argmax; for
multi-label data, the multi-hot ``p >= 0.5``). The graph is
``model.InferenceGraph``, the one predict runs, so both give the same numbers.
Border crop / resize / DICOM windowing happen before, in
``imaging.read_and_prepare`` (numpy/PIL), as for predict; the settings are
copied to ``assets.extra/dataset_info.json`` with ``labels.txt``.

Inference GraphDef (``export_inference_graph``): TF-Slim's option, a GraphDef
with a float ``input`` placeholder [batch, S, S, 3] of preprocessed images and
no variables, for freeze_graph and friends.
"""
import os

from absl import logging

from tf_compat import tf
from datasets import dataset_info as info_lib
from deployment import precision as precision_lib
from evaluation import model as model_lib

SIGNATURE_KEY = "serving_default"
INPUT_KEY = "image_bytes"


def _add_outputs(graph: model_lib.InferenceGraph):
  if graph.config.multilabel:
    graph.classes = tf.cast(graph.probabilities >= 0.5, tf.int64, name="classes")
  else:
    graph.classes = tf.argmax(graph.probabilities, axis=1, name="classes")


def export_saved_model(config: model_lib.ModelConfig, checkpoint_path: str,
                       output_dir: str, info=None) -> str:
  """Writes a SavedModel to ``output_dir`` (which must not exist yet)."""
  if tf.io.gfile.exists(output_dir):
    raise ValueError("--output_dir %s exists; SavedModel needs a new folder"
                     % output_dir)
  graph = model_lib.InferenceGraph(config, checkpoint_path, extra=_add_outputs)
  try:
    with graph.graph.as_default():
      sig = tf.compat.v1.saved_model.signature_def_utils.predict_signature_def(
          inputs={INPUT_KEY: graph.encoded},
          outputs={"probabilities": graph.probabilities, "classes": graph.classes})
      builder = tf.compat.v1.saved_model.Builder(output_dir)
      builder.add_meta_graph_and_variables(
          graph.session, [tf.compat.v1.saved_model.tag_constants.SERVING],
          signature_def_map={SIGNATURE_KEY: sig}, strip_default_attrs=True)
      builder.save()
  finally:
    graph.close()
  extra = os.path.join(output_dir, "assets.extra")
  tf.io.gfile.makedirs(extra)
  with tf.io.gfile.GFile(os.path.join(extra, info_lib.LABELS_FILENAME), "w") as f:
    f.write("".join("%d:%s\n" % (i, n)
                    for i, n in enumerate(config.output_class_names)))
  if info is not None:
    with tf.io.gfile.GFile(os.path.join(extra, info_lib.INFO_FILENAME), "w") as f:
      f.write(info.to_json() + "\n")
  logging.info("Wrote SavedModel to %s", output_dir)
  return output_dir


def load_saved_model(export_dir: str, mixed_precision: bool = False):
  """A callable ``fn(list of encoded bytes) -> probabilities`` (graph mode),
  as a client would use the export (``mixed_precision``: in the 16-bit
  session config of deployment.precision)."""
  graph = tf.Graph()
  sess = tf.compat.v1.Session(graph=graph, config=precision_lib.session_config(
      precision_lib.choose(mixed_precision)))
  with graph.as_default():
    meta = tf.compat.v1.saved_model.loader.load(
        sess, [tf.compat.v1.saved_model.tag_constants.SERVING], export_dir)
  sig = meta.signature_def[SIGNATURE_KEY]
  input_name = sig.inputs[INPUT_KEY].name
  output_name = sig.outputs["probabilities"].name

  def fn(encoded):
    return sess.run(output_name, {input_name: list(encoded)})

  fn.session = sess
  return fn


def export_inference_graph(config: model_lib.ModelConfig, output_file: str,
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
