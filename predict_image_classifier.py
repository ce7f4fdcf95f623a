"""Classifies raw images, folders, CSV lists or DICOMs with a checkpoint.

    python predict_image_classifier.py --checkpoint_path=<train_dir> \
        --input=<kaggle>/test --output=submission.csv --output_format=kaggle

The model (net, input size, preprocessing and its options, classes) is the
one model_spec.json next to the checkpoint describes. Files are prepared
exactly as the converter prepared the training data (the spec's ``imaging``:
border crop, resize/pad, intensity scaling, DICOM windowing), so predictions
equal eval's on the same image. Unreadable files are listed in
<output>_unreadable.csv.
"""
from absl import flags

import cli
import flagdefs
import inference_flags
from inference import predict

# --checkpoint_path, --master and the model flags: inference_flags.py; every
# other flag is a field of PredictOptions (flagdefs.py).
inference_flags.define_model_flags()
flagdefs.define(predict.PredictOptions)
flags.mark_flags_as_required(["checkpoint_path", "input"])


FLAGS = flags.FLAGS


def main(_):
  predict.run(inference_flags.build_options(predict.PredictOptions, FLAGS))


if __name__ == "__main__":
  cli.run(main)
