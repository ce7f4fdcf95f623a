"""Registry of raw layouts: ``--dataset_name`` -> Source.

Adding a dataset = one file in this package + one line here.
"""
from datasets.sources.base import (Options, Record, Scan, Skipped, Source,
                                   SourceError)
from datasets.sources.chestxray14 import ChestXray14
from datasets.sources.dicom import Dicom
from datasets.sources.flowers import Flowers
from datasets.sources.image_folder import ImageFolder
from datasets.sources.kaggle_dr import KaggleDR
from datasets.sources.oct import KermanyOCT

SOURCES = {
    "kaggle_dr": KaggleDR,
    "kermany_oct": KermanyOCT,
    "image_folder": ImageFolder,
    "chestxray14": ChestXray14,
    "dicom": Dicom,
    "flowers": Flowers,
}


def get_source(name: str) -> Source:
  if name not in SOURCES:
    raise SourceError("unknown --dataset_name=%s: expected one of %s"
                      % (name, ", ".join(sorted(SOURCES))))
  return SOURCES[name]()


__all__ = ["Options", "Record", "Scan", "Skipped", "Source", "SourceError",
           "SOURCES", "get_source"]
