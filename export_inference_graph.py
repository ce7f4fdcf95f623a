"""Exports a trained classifier as a SavedModel for serving.

    python export_inference_graph.py --checkpoint_path=<train_dir> \
        --model_name=inception_v3 --dataset_dir=<tfrecords> --output_dir=<export>

Serving signature: encoded image bytes (as the converter prepared them) in,
class probabilities out. --output_file additionally writes TF-Slim's inference
GraphDef (placeholder ``input`` [batch, S, S, 3], no weights); without
--checkpoint_path only the GraphDef is written, as TF-Slim's script does.
"""
from absl import app, flags

from evaluation import checkpoints as ckpt_lib
from evaluation import export
from evaluation import model as model_lib
from evaluation import predict

flags.DEFINE_string("checkpoint_path", None, "A checkpoint or a train_dir (latest).")
flags.DEFINE_string("model_name", "inception_v3", "Network architecture.")
flags.DEFINE_string("dataset_dir", None,
                    "Converted dataset (classes, channels, bit depth); default: "
                    "the train_dir's dataset_info.json.")
flags.DEFINE_string("output_dir", None, "Where the SavedModel goes (a new folder).")
flags.DEFINE_string("output_file", None, "Also write TF-Slim's inference GraphDef here.")
flags.DEFINE_integer("batch_size", None, "Batch size of the GraphDef's input (None = any).")
flags.DEFINE_integer("image_size", None, "Net input size (default: training's).")
flags.DEFINE_string("preprocessing_name", None, "Default: training's, else the model's.")
flags.DEFINE_float("depth_multiplier", None, "Must match training (default: training's).")
flags.DEFINE_float("moving_average_decay", None, "Export the moving-average weights.")
flags.DEFINE_integer("labels_offset", 0, "As in training.")

flags.DEFINE_boolean("mixed_precision", None, "slim-med: 16-bit inference where "
                     "it is faster (bfloat16 on CPUs with BF16 instructions, float16 "
                     "on GPUs; float32 variables). Default: training's (flags.json).")

FLAGS = flags.FLAGS


def main(_):
  if not FLAGS.output_dir and not FLAGS.output_file:
    raise app.UsageError("Pass --output_dir (SavedModel) and/or --output_file (GraphDef)")
  if FLAGS.output_dir and not FLAGS.checkpoint_path:
    raise app.UsageError("--output_dir needs --checkpoint_path (the weights)")
  checkpoint = (ckpt_lib.resolve(FLAGS.checkpoint_path) if FLAGS.checkpoint_path
                else "")
  info = predict.load_info(FLAGS.dataset_dir, checkpoint or ".")
  config = model_lib.config_for(
      checkpoint or ".", info, FLAGS.model_name, labels_offset=FLAGS.labels_offset,
      depth_multiplier=FLAGS.depth_multiplier, image_size=FLAGS.image_size,
      preprocessing_name=FLAGS.preprocessing_name,
      moving_average_decay=FLAGS.moving_average_decay,
      mixed_precision=FLAGS.mixed_precision)
  if FLAGS.output_file:
    export.export_inference_graph(config, FLAGS.output_file, FLAGS.batch_size)
  if FLAGS.output_dir:
    export.export_saved_model(config, checkpoint, FLAGS.output_dir, info)


if __name__ == "__main__":
  app.run(main)
