"""16-bit intensity scaling as users' films are stored: 12-bit detector values
(0..4095) in 16-bit PNGs, 32-bit TIFFs, DICOM without a window. One scale per
dataset, recorded in dataset_info's preprocessing, applied by
imaging.read_and_prepare at conversion and again at prediction."""
import os

import numpy as np
import pydicom
import pytest
from PIL import Image

from datasets import dataset_info, imaging
from demo import synthetic
from tests.datasets.convert_helpers import read_all, run


def _films(seed, count, size=32):
  rng = np.random.default_rng(seed)
  return [synthetic.draw_chest_film(rng, size, num_opacities=3 * i)[0] for i in range(count)]


def _stretch(film):
  """The film using its detector's full range (a well-exposed 12-bit film)."""
  return (film - film.min()) / (film.max() - film.min())


def _save(array, path):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  Image.fromarray(array).save(path)
  return path


@pytest.fixture
def twelve_and_eight_bit(tmp_path):
  """Two class folders 0/ 1/ of the same films, 1.png..3.png in each: once as
  12-bit values in 16-bit PNGs (as the modality exports them), once as the
  8-bit PNGs a viewer exports. 3.png in the 12-bit set is 2.png at half the
  exposure, and 4.tif the same film at 5% in a 32-bit TIFF (PIL mode I)."""
  films = [_stretch(f) for f in _films(0, 4)]
  twelve, eight = tmp_path / "films12", tmp_path / "films8"
  for c, stage in enumerate("01"):
    for n in (1, 2):
      film = films[2 * c + n - 1]
      _save(np.round(film * 4095).astype(np.uint16), str(twelve / stage / ("%d.png" % n)))
      _save(np.round(film * 255).astype(np.uint8), str(eight / stage / ("%d.png" % n)))
    _save(np.round(films[2 * c + 1] * 2047).astype(np.uint16), str(twelve / stage / "3.png"))
    _save(np.round(films[2 * c + 1] * 205).astype(np.int32), str(twelve / stage / "4.tif"))
  return twelve, eight


def test_12bit_png_uses_the_range_of_its_8bit_version(twelve_and_eight_bit, tmp_path):
  twelve, eight = twelve_and_eight_bit
  assert Image.open(twelve / "0" / "1.png").mode == "I;16"
  assert Image.open(twelve / "0" / "4.tif").mode == "I"
  out12, out8 = tmp_path / "out12", tmp_path / "out8"
  run("films", twelve, out12, layout="image_folder", image_size=0, validation_size=0.0)
  run("films", eight, out8, layout="image_folder", image_size=0, validation_size=0.0)
  info12, splits12 = read_all(out12)
  _, splits8 = read_all(out8)
  assert info12.bit_depth == 16
  low, high = info12.preprocessing["intensity_range"]
  assert low == 0 and 3900 <= high <= 4095
  assert "percentile" in info12.preprocessing["intensity_range_source"]
  a = {r["source_id"]: r["image"] for r in splits12["train"]}
  b = {r["source_id"]: r["image"] for r in splits8["train"]}
  for name in ("0/1.png", "0/2.png", "1/1.png", "1/2.png"):
    assert a[name].max() > 0.95                       # not 0.06
    assert np.abs(a[name] - b[name]).mean() < 0.03    # same range as the 8-bit film
  # one factor for every image, whatever its own maximum or PIL mode
  for stage in "01":
    bright = a[stage + "/2.png"]
    unclipped = bright < 1
    np.testing.assert_allclose(a[stage + "/3.png"][unclipped],
                               bright[unclipped] * 2047 / 4095, atol=2e-3)
    np.testing.assert_allclose(a[stage + "/4.tif"][unclipped],
                               bright[unclipped] * 205 / 4095, atol=2e-3)


def test_prediction_scales_like_conversion_and_old_infos_still_read(
    twelve_and_eight_bit, tmp_path):
  twelve, _ = twelve_and_eight_bit
  out = tmp_path / "out"
  run("films", twelve, out, layout="image_folder", image_size=0, validation_size=0.0)
  info, splits = read_all(out)
  stored = {r["source_id"]: r["image"] for r in splits["train"]}
  for name in ("0/1.png", "1/3.png", "1/4.tif"):
    again = imaging.read_and_prepare(str(twelve / name), info.preprocessing)
    np.testing.assert_array_equal(np.round(stored[name] * 65535).astype(np.uint16), again)
  # a dataset_info written before intensity_range existed: the per-image rule
  # it was converted with (I;16 / 65535), so old models see what they trained on
  old = {k: v for k, v in info.preprocessing.items()
         if not k.startswith("intensity_range")}
  legacy = imaging.read_and_prepare(str(twelve / "0" / "1.png"), old)
  raw = np.asarray(Image.open(twelve / "0" / "1.png"))
  np.testing.assert_array_equal(legacy[:, :, 0], raw)


def _dicom_without_window(tmp_path, signed=False):
  """Two films of one scanner (BitsStored 12, no window, no VOI LUT), the
  second at half the exposure of the first."""
  d = synthetic.make_dicom(str(tmp_path / ("signed" if signed else "plain")),
                      num_patients=1, per_patient=2, seed=7)
  film = _stretch(_films(3, 1, size=64)[0])
  paths = []
  for path, scale in zip(d["files"], (1.0, 0.5)):
    ds = pydicom.dcmread(path)
    for keyword in ("WindowCenter", "WindowWidth", "VOILUTSequence"):
      if keyword in ds:
        delattr(ds, keyword)
    ds.RescaleSlope, ds.RescaleIntercept = 1, 0
    ds.BitsStored, ds.HighBit = 12, 11
    if signed:
      ds.PixelRepresentation = 1
      values = np.round(film * scale * 2047).astype(np.int16)
    else:
      ds.PixelRepresentation = 0
      values = np.round(film * scale * 4095).astype(np.uint16)
    ds.PixelData = values.tobytes()
    ds.save_as(path)
    paths.append(path)
  return paths


def test_dicom_without_window_scales_by_bits_stored_not_per_image(tmp_path):
  settings = {"channels": 1, "bit_depth": 16, "dicom_fallback": "bits_stored"}
  full, half = (imaging.read_and_prepare(p, settings).astype(float) / 65535
                for p in _dicom_without_window(tmp_path))
  assert full.max() > 0.99                     # 12 bits fill [0, 1]
  np.testing.assert_allclose(half, full * 0.5, atol=2e-3)   # one factor
  # explicit --dicom_window=minmax stays per image
  minmax = dict(settings, dicom_window="minmax")
  half_minmax = imaging.read_and_prepare(_dicom_without_window(tmp_path / "m")[1], minmax)
  assert half_minmax.max() == 65535
  # signed data (PixelRepresentation 1): -2048..2047 maps to [0, 1]
  zero, _ = _dicom_without_window(tmp_path / "s", signed=True)
  signed = imaging.read_and_prepare(zero, settings).astype(float) / 65535
  assert 0.49 < signed.min() < 0.51 and signed.max() > 0.99


def test_conversion_records_bits_stored_fallback_for_dicom(tmp_path):
  paths = _dicom_without_window(tmp_path)
  root = os.path.commonpath(paths)
  labels = os.path.join(str(tmp_path), "labels.csv")
  with open(labels, "w") as f:
    f.write("file,label\n" + "".join("%s,0\n" % os.path.relpath(p, root) for p in paths))
  out = tmp_path / "out"
  run("dicom", root, out, labels_file=labels, validation_size=0.0, image_size=0)
  info, splits = read_all(out)
  assert info.preprocessing["dicom_fallback"] == "bits_stored"
  maxima = sorted(r["image"].max() for r in splits["train"])
  assert maxima[0] == pytest.approx(maxima[1] * 0.5, abs=2e-3) and maxima[1] > 0.99
  # dataset_info without the key (older conversions): per-image min-max, as before
  old = dataset_info.DatasetInfo.from_dict(
      {"name": "x", "class_names": ["0"], "splits": {},
       "preprocessing": {"channels": 1, "bit_depth": 16}})
  half = imaging.read_and_prepare(paths[1], old.preprocessing)
  assert half.max() == 65535
