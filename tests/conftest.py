"""Shared fixtures: raw demo data in the real layouts, from demo/synthetic.py.

Session-scoped fixtures are generated once per test run and are READ-ONLY:
a test that damages or adds files must use ``make_demo`` (a fresh copy in its
own tmp dir) instead. Every fixture returns the generator's dict (``root``,
``files``, ``labels``, ``class_names``, ...), see demo/synthetic.py.
"""
import os

import pytest

from demo import synthetic


@pytest.fixture
def make_demo(tmp_path):
  """``make_demo(layout, **kwargs)`` writes a fresh layout under tmp_path.

  ``layout`` is a key of ``synthetic.LAYOUTS``; kwargs go to the generator.
  """
  counter = [0]

  def _make(layout, **kwargs):
    counter[0] += 1
    root = os.path.join(str(tmp_path), "%s_%d" % (layout, counter[0]))
    return synthetic.LAYOUTS[layout](root, **kwargs)

  return _make


def _session_root(factory, name):
  return str(factory.mktemp(name))


@pytest.fixture(scope="session")
def demo_kaggle_dr(tmp_path_factory):
  """Kaggle DR: 30 patients, 60 eyes, 144x96 photos, grades 0-4."""
  return synthetic.make_kaggle_dr(_session_root(tmp_path_factory, "kaggle_dr"))


@pytest.fixture(scope="session")
def demo_kermany_oct(tmp_path_factory):
  """Kermany OCT: 6/2/2 B-scans per class in train/val/test."""
  return synthetic.make_kermany_oct(_session_root(tmp_path_factory, "kermany_oct"))


@pytest.fixture(scope="session")
def demo_image_folder(tmp_path_factory):
  """Pneumoconiosis-style class folders 0-3, 12 films each, 8-bit PNG."""
  return synthetic.make_image_folder(_session_root(tmp_path_factory, "xray_folders"))


@pytest.fixture(scope="session")
def demo_image_folder_16bit(tmp_path_factory):
  """As demo_image_folder, 16-bit grayscale PNG, 6 films per class."""
  return synthetic.make_image_folder(_session_root(tmp_path_factory, "xray16"),
                                per_class=6, bit_depth=16, seed=1)


@pytest.fixture(scope="session")
def demo_chestxray14(tmp_path_factory):
  """NIH ChestX-ray14: 20 patients x 2 films, multi-label findings."""
  return synthetic.make_chestxray14(_session_root(tmp_path_factory, "chestxray14"))


@pytest.fixture(scope="session")
def demo_dicom(tmp_path_factory):
  """DICOM tree, MONOCHROME2, 12-bit, explicit VR little endian, labels.csv."""
  return synthetic.make_dicom(_session_root(tmp_path_factory, "dicom"))


@pytest.fixture(scope="session")
def demo_dicom_monochrome1_jpeg2000(tmp_path_factory):
  """DICOM tree, MONOCHROME1, 16-bit, JPEG 2000 lossless, label in the
  SeriesDescription tag (no labels.csv)."""
  return synthetic.make_dicom(_session_root(tmp_path_factory, "dicom_m1_j2k"),
                         photometric="MONOCHROME1", bits_stored=16,
                         transfer_syntax="jpeg2000", label_source="tag", seed=1)


@pytest.fixture(scope="session")
def demo_dicom_jpeg_baseline(tmp_path_factory):
  """DICOM tree, MONOCHROME2, 8-bit JPEG baseline, labels.csv."""
  return synthetic.make_dicom(_session_root(tmp_path_factory, "dicom_jpeg"),
                         transfer_syntax="jpeg_baseline", seed=2)


@pytest.fixture(scope="session")
def demo_flowers(tmp_path_factory):
  """TF-Slim flowers: flower_photos/<5 classes>/, 8 photos each."""
  return synthetic.make_flowers(_session_root(tmp_path_factory, "flowers"))


# Converted records and tiny checkpoints shared by tests/evaluation and
# tests/inference (defined in tests/model_fixtures.py, built once per run).
from tests.model_fixtures import dr_checkpoints, dr_dataset, xray_binary  # noqa: E402,F401
