"""TF-Slim flowers: ``<dataset_dir>/flower_photos/<class>/*.jpg`` (for parity).

Nothing is downloaded (the machines that run slim-med are often offline):
extract flower_photos.tgz into --dataset_dir first.
"""
import os

from datasets.sources import base, image_folder


class Flowers(base.Source):
  name = "flowers"
  layout = "flowers"
  default_channels = 3
  default_modality = "natural"

  def scan(self, dataset_dir, options):
    root = os.path.join(dataset_dir, "flower_photos")
    return image_folder.scan_class_folders(
        root, options, "<dataset_dir>/flower_photos/<class>/*.jpg (extract the "
        "TF-Slim flower_photos.tgz into --dataset_dir)")
