"""Grad-CAM heatmaps (and guided backprop) for images, one PNG per input.

    python visualize_image_classifier.py --checkpoint_path=<train_dir> \
        --input=<folder or image or CSV> --output_dir=<dir> [--class_name=4] \
        [--guided_backprop]

Each <id>_gradcam.png shows the prepared image next to the heatmap of the
predicted class (or --class_name) over the net input; with
--guided_backprop also the guided gradients and guided Grad-CAM.
"""
from absl import flags

import cli
import inference_flags
from inference import gradcam

inference_flags.define_model_flags()
flags.DEFINE_string("dataset_dir", None,
                    "Optional: a converted dataset to check against the model.")
flags.DEFINE_string("input", None, "An image, a folder, a CSV list, DICOMs or a glob.")
flags.DEFINE_string("output_dir", None, "Where the PNGs go.")
flags.DEFINE_string("class_name", None, "Explain this class (default: the predicted one).")
flags.DEFINE_string("layer", None,
                    "End point to explain (default: the last conv block at least "
                    "7x7, e.g. Mixed_7c for InceptionV3 at 299 px).")
flags.DEFINE_bool("guided_backprop", False, "Add guided backprop and guided Grad-CAM panels.")
flags.mark_flags_as_required(["checkpoint_path", "input", "output_dir"])


FLAGS = flags.FLAGS


def main(_):
  gradcam.run(gradcam.VisualizeOptions(
      checkpoint_path=FLAGS.checkpoint_path,
      model_overrides=inference_flags.model_overrides(FLAGS), input=FLAGS.input,
      output_dir=FLAGS.output_dir, dataset_dir=FLAGS.dataset_dir,
      class_name=FLAGS.class_name, layer=FLAGS.layer,
      guided_backprop=FLAGS.guided_backprop, master=FLAGS.master))


if __name__ == "__main__":
  cli.run(main)
