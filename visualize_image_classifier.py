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
import flagdefs
import inference_flags
from inference import gradcam

# --checkpoint_path, --master and the model flags: inference_flags.py; every
# other flag is a field of VisualizeOptions (flagdefs.py).
inference_flags.define_model_flags()
flagdefs.define(gradcam.VisualizeOptions)
flags.mark_flags_as_required(["checkpoint_path", "input", "output_dir"])


FLAGS = flags.FLAGS


def main(_):
  gradcam.run(inference_flags.build_options(gradcam.VisualizeOptions, FLAGS))


if __name__ == "__main__":
  cli.run(main)
