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
import flagdefs
import inference_flags
from inference import export

# --checkpoint_path, --master and the model flags (--image_size, as TF-Slim's
# script names it): inference_flags.py; every other flag is a field of
# ExportOptions (flagdefs.py).
MODEL_FLAGS = inference_flags.ExportModelFlags
inference_flags.define_model_flags(MODEL_FLAGS)
flagdefs.define(export.ExportOptions)


FLAGS = flags.FLAGS


def main(_):
  options = inference_flags.build_options(
      export.ExportOptions, FLAGS, MODEL_FLAGS,
      model_flag_names=inference_flags.flag_names(MODEL_FLAGS))
  if not options.output_dir and not options.output_file:
    raise app.UsageError("Pass --output_dir (SavedModel) and/or --output_file (GraphDef)")
  if options.output_dir and not options.checkpoint_path:
    raise app.UsageError("--output_dir needs --checkpoint_path (the weights)")
  if not options.checkpoint_path and not options.dataset_dir:
    raise app.UsageError("--output_file without --checkpoint_path needs "
                         "--dataset_dir (the classes)")
  export.run(options)


if __name__ == "__main__":
  cli.run(main)
