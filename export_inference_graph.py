"""Exports a trained classifier as a SavedModel for serving.

    python export_inference_graph.py --checkpoint_path=<train_dir> \
        --output_dir=<export>

The model is the one model_spec.json next to the checkpoint describes.
Signature ``serving_default`` takes a client's original PNG/JPEG bytes and
prepares them in the graph as conversion prepared the training data (border
crop, aspect-keeping pad, resize, intensity scaling); ``prepared`` takes pixels
already prepared by datasets.imaging.read_and_prepare (the way for DICOM,
whose windowing is not in the graph). assets.extra/README.txt says which for
this model. --output_file additionally writes TF-Slim's inference GraphDef
(placeholder ``input`` [batch, S, S, 3], no weights); without
--checkpoint_path only the GraphDef is written (model from the flags and
--dataset_dir), as TF-Slim's script does.
"""
from absl import app, flags

import cli
import inference_flags
from nets import checkpoints as ckpt_lib
from inference import export
from inference import predict

# --checkpoint_path, --master and the model flags (--image_size, as TF-Slim's
# script names it): inference_flags.py.
MODEL_FLAGS = inference_flags.ExportModelFlags
inference_flags.define_model_flags(MODEL_FLAGS)
flags.DEFINE_string("dataset_dir", None,
                    "Optional with --checkpoint_path (checked against the "
                    "model); needed for a GraphDef without one.")
flags.DEFINE_string("output_dir", None, "Where the SavedModel goes (a new folder).")
flags.DEFINE_string("output_file", None, "Also write TF-Slim's inference GraphDef here.")
flags.DEFINE_integer("batch_size", None, "Batch size of the GraphDef's input (None = any).")


FLAGS = flags.FLAGS


def main(_):
  if not FLAGS.output_dir and not FLAGS.output_file:
    raise app.UsageError("Pass --output_dir (SavedModel) and/or --output_file (GraphDef)")
  if FLAGS.output_dir and not FLAGS.checkpoint_path:
    raise app.UsageError("--output_dir needs --checkpoint_path (the weights)")
  overrides = inference_flags.model_overrides(FLAGS, MODEL_FLAGS)
  if FLAGS.checkpoint_path:
    checkpoint = ckpt_lib.resolve(FLAGS.checkpoint_path)
    config = predict.load_spec(checkpoint, overrides, FLAGS.dataset_dir,
                               inference_flags.flag_names(MODEL_FLAGS))
  else:
    if not FLAGS.dataset_dir:
      raise app.UsageError("--output_file without --checkpoint_path needs "
                           "--dataset_dir (the classes)")
    config = predict.spec_from_flags(FLAGS.model_name, overrides, FLAGS.dataset_dir)
  if FLAGS.output_file:
    export.export_inference_graph(config, FLAGS.output_file, FLAGS.batch_size)
  if FLAGS.output_dir:
    export.export_saved_model(config, checkpoint, FLAGS.output_dir)


if __name__ == "__main__":
  cli.run(main)
