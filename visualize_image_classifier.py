"""Grad-CAM heatmaps (and guided backprop) for images, one PNG per input.

    python visualize_image_classifier.py --checkpoint_path=<train_dir> \
        --model_name=inception_v3 --dataset_dir=<tfrecords> \
        --input=<folder or image or CSV> --output_dir=<dir> [--class_name=4] \
        [--guided_backprop]

Each <id>_gradcam.png shows the prepared image next to the heatmap of the
predicted class (or --class_name) over the net input; with
--guided_backprop also the guided gradients and guided Grad-CAM.
"""
from absl import app, flags

from evaluation import gradcam

flags.DEFINE_string("checkpoint_path", None, "A checkpoint or a train_dir (latest).")
flags.DEFINE_string("model_name", "inception_v3", "Network architecture.")
flags.DEFINE_string("dataset_dir", None,
                    "Converted dataset (labels + preprocessing); default: the "
                    "train_dir's dataset_info.json.")
flags.DEFINE_string("input", None, "An image, a folder, a CSV list, DICOMs or a glob.")
flags.DEFINE_string("output_dir", None, "Where the PNGs go.")
flags.DEFINE_string("class_name", None, "Explain this class (default: the predicted one).")
flags.DEFINE_string("layer", None,
                    "End point to explain (default: the last conv block at least "
                    "7x7, e.g. Mixed_7c for InceptionV3 at 299 px).")
flags.DEFINE_bool("guided_backprop", False, "Add guided backprop and guided Grad-CAM panels.")
flags.DEFINE_integer("eval_image_size", None, "Net input size (default: training's).")
flags.DEFINE_string("preprocessing_name", None, "Default: training's, else the model's.")
flags.DEFINE_float("depth_multiplier", None, "Must match training (default: training's).")
flags.DEFINE_float("moving_average_decay", None, "Use the moving-average weights.")
flags.DEFINE_integer("labels_offset", 0, "As in training.")
flags.DEFINE_string("master", "", "TensorFlow session target.")
flags.mark_flags_as_required(["checkpoint_path", "input", "output_dir"])

flags.DEFINE_boolean("mixed_precision", None, "slim-med: 16-bit inference where "
                     "it is faster (bfloat16 on CPUs with BF16 instructions, float16 "
                     "on GPUs; float32 variables). Default: training's (flags.json).")

FLAGS = flags.FLAGS


def main(_):
  gradcam.run(gradcam.VisualizeOptions(
      checkpoint_path=FLAGS.checkpoint_path, model_name=FLAGS.model_name,
      input=FLAGS.input, output_dir=FLAGS.output_dir, dataset_dir=FLAGS.dataset_dir,
      class_name=FLAGS.class_name, layer=FLAGS.layer,
      guided_backprop=FLAGS.guided_backprop, eval_image_size=FLAGS.eval_image_size,
      preprocessing_name=FLAGS.preprocessing_name,
      depth_multiplier=FLAGS.depth_multiplier,
      moving_average_decay=FLAGS.moving_average_decay,
      mixed_precision=FLAGS.mixed_precision,
      labels_offset=FLAGS.labels_offset, master=FLAGS.master))


if __name__ == "__main__":
  app.run(main)
