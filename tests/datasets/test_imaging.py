"""read_and_prepare: the pixels conversion stores, for every kind of raw file."""
import io

import numpy as np
import pytest
from PIL import Image

from datasets import imaging
from demo import synthetic


def _psnr(a, b, peak=255.0):
  mse = max(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2), 1e-12)
  return 10 * np.log10(peak ** 2 / mse)


@pytest.fixture(scope="module")
def big_fundus(tmp_path_factory):
  """A fundus-like 1500x1000 JPEG (large enough for 1/4 DCT scaling to 96 px)."""
  rng = np.random.default_rng(0)
  array, _ = synthetic.draw_fundus(rng, 1000, 8)
  path = str(tmp_path_factory.mktemp("fundus") / "big.jpeg")
  Image.fromarray(array).save(path, quality=92)
  return path


def test_jpeg_draft_decode_close_to_full_decode(big_fundus):
  settings = {"image_size": 96, "crop_black_borders": 10}
  draft = imaging.read_and_prepare(big_fundus, dict(settings, jpeg_draft=True))
  full = imaging.read_and_prepare(big_fundus, dict(settings, jpeg_draft=False))
  assert draft.shape == full.shape == (96, 96, 3)
  assert _psnr(draft, full) >= 35.0
  # and the draft path really decoded less: PIL reports the reduced size
  img = Image.open(big_fundus)
  img.draft("RGB", (96, 96))
  assert img.size[0] < 1500


def test_pad_keeps_aspect_stretch_does_not_keep_keeps(big_fundus):
  pad = imaging.read_and_prepare(big_fundus, {"image_size": 60, "resize": "pad"})
  stretch = imaging.read_and_prepare(big_fundus, {"image_size": 60, "resize": "stretch"})
  keep = imaging.read_and_prepare(big_fundus, {"image_size": 60, "resize": "keep"})
  assert pad.shape == stretch.shape == (60, 60, 3)
  assert keep.shape == (1000, 1500, 3)
  # 3:2 photo padded to a square: top and bottom 10 rows are black padding
  assert pad[:9].max() == 0 and pad[-9:].max() == 0
  assert stretch[:9].max() > 0


def test_black_border_crop_removes_the_frame(tmp_path):
  array = np.zeros((40, 80, 3), np.uint8)
  array[:, :] = 3  # camera noise level in the frame
  array[5:35, 20:60] = 200
  path = str(tmp_path / "frame.png")
  Image.fromarray(array).save(path)
  cropped = imaging.read_and_prepare(path, {"crop_black_borders": 10})
  assert cropped.shape == (30, 40, 3) and cropped.min() == 200
  uncropped = imaging.read_and_prepare(path, {})
  assert uncropped.shape == (40, 80, 3)


def test_16bit_png_kept_at_16_bits_and_reduced_to_8(tmp_path):
  values = (np.arange(48 * 64).reshape(48, 64) * 21).astype(np.uint16)
  path = str(tmp_path / "film16.png")
  Image.fromarray(values).save(path)
  kept = imaging.read_and_prepare(path, {"bit_depth": 16, "channels": 1})
  assert kept.dtype == np.uint16 and kept.shape == (48, 64, 1)
  np.testing.assert_array_equal(kept[:, :, 0], values)
  eight = imaging.read_and_prepare(path, {"bit_depth": 8, "channels": 1})
  assert eight.dtype == np.uint8
  assert np.abs(eight[:, :, 0].astype(int) - np.round(values / 257.0)).max() <= 1
  decoded = Image.open(io.BytesIO(imaging.encode(kept)))
  np.testing.assert_array_equal(np.asarray(decoded), values)


def test_grayscale_and_channel_replication(big_fundus):
  gray = imaging.read_and_prepare(big_fundus, {"image_size": 32, "grayscale": True,
                                               "channels": 1})
  assert gray.shape == (32, 32, 1)
  rgb_from_gray = imaging.read_and_prepare(big_fundus, {"image_size": 32,
                                                        "grayscale": True})
  assert rgb_from_gray.shape == (32, 32, 3)
  np.testing.assert_array_equal(rgb_from_gray[..., 0], rgb_from_gray[..., 2])


def test_ben_graham_centres_local_colour(big_fundus):
  plain = imaging.read_and_prepare(big_fundus, {"image_size": 64,
                                                "crop_black_borders": 10})
  graham = imaging.read_and_prepare(big_fundus, {"image_size": 64,
                                                 "crop_black_borders": 10,
                                                 "ben_graham": True})
  assert graham.shape == plain.shape
  # local average removed: the disc's orange becomes mid grey on average
  centre = graham[16:48, 16:48].astype(float)
  assert abs(centre.mean() - 128) < 20
  plain_centre = plain[16:48, 16:48].astype(float)
  # orange (red >> blue) before, colour cast removed after
  assert (plain_centre[..., 0] - plain_centre[..., 2]).mean() > 60
  assert abs((centre[..., 0] - centre[..., 2]).mean()) < 20
  assert graham[0, 0].tolist() == [128, 128, 128]  # outside the disc: grey


def _dicom_pixels(info, index=0, **settings):
  return imaging.read_and_prepare(info["files"][index],
                                  dict({"channels": 1, "bit_depth": 16}, **settings))


def test_dicom_monochrome1_displays_like_monochrome2(tmp_path):
  m2 = synthetic.make_dicom(str(tmp_path / "m2"), num_patients=1, per_patient=1, seed=4)
  m1 = synthetic.make_dicom(str(tmp_path / "m1"), num_patients=1, per_patient=1, seed=4,
                       photometric="MONOCHROME1")
  a, b = _dicom_pixels(m2), _dicom_pixels(m1)
  assert a.dtype == np.uint16
  # The same film: MONOCHROME1 inverted to display like MONOCHROME2 (lungs dark)
  assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.99
  assert np.abs(a.astype(float) - b.astype(float)).mean() < 0.01 * 65535


def test_dicom_rescale_and_window_from_header(tmp_path):
  info = synthetic.make_dicom(str(tmp_path / "d"), num_patients=1, per_patient=1)
  auto = _dicom_pixels(info)
  # The demo window spans the film's full modality range -> uses 0..65535
  assert auto.min() < 0.02 * 65535 and auto.max() > 0.98 * 65535
  import pydicom
  ds = pydicom.dcmread(info["files"][0])
  centre, width = float(ds.WindowCenter), float(ds.WindowWidth)
  narrow = _dicom_pixels(info, dicom_window=[centre, width / 4])
  assert (narrow == 65535).mean() > (auto == 65535).mean() + 0.05
  eight = _dicom_pixels(info, bit_depth=8)
  assert eight.dtype == np.uint8 and eight.max() > 240


@pytest.mark.parametrize("syntax", ["jpeg2000", "jpeg_baseline"])
def test_compressed_dicom_decoded(tmp_path, syntax):
  plain = synthetic.make_dicom(str(tmp_path / "p"), num_patients=1, per_patient=1, seed=5,
                          bits_stored=8 if syntax == "jpeg_baseline" else 12)
  packed = synthetic.make_dicom(str(tmp_path / "c"), num_patients=1, per_patient=1, seed=5,
                           transfer_syntax=syntax)
  a = _dicom_pixels(plain, bit_depth=8)
  b = _dicom_pixels(packed, bit_depth=8)
  assert a.shape == b.shape == (64, 64, 1)
  assert _psnr(a, b) > 30


def test_dicom_without_pixel_data(tmp_path):
  import pydicom
  info = synthetic.make_dicom(str(tmp_path / "d"), num_patients=1, per_patient=1)
  ds = pydicom.dcmread(info["files"][0])
  del ds.PixelData
  path = str(tmp_path / "nopixels.dcm")
  ds.save_as(path)
  with pytest.raises(imaging.ImageReadError, match="nopixels.dcm.*without pixel data"):
    imaging.read_and_prepare(path, {})


def test_broken_files_raise_image_read_error_naming_the_file(tmp_path, big_fundus):
  zero = tmp_path / "zero.png"
  zero.write_bytes(b"")
  text = tmp_path / "notes.jpeg"
  text.write_text("not an image")
  truncated = tmp_path / "truncated.jpeg"
  data = open(big_fundus, "rb").read()
  truncated.write_bytes(data[: len(data) // 3])
  for path, reason in ((zero, "zero-byte"), (text, "not an image"),
                       (truncated, "truncated")):
    with pytest.raises(imaging.ImageReadError) as err:
      imaging.read_and_prepare(str(path), {"image_size": 32})
    assert str(path) in str(err.value) and reason in str(err.value)
  with pytest.raises(imaging.ImageReadError, match="cannot read"):
    imaging.read_and_prepare(str(tmp_path / "absent.png"), {})


def test_bad_settings_rejected():
  with pytest.raises(ValueError, match="resize"):
    imaging.full_preprocessing({"resize": "crop"})
  with pytest.raises(ValueError, match="bit_depth"):
    imaging.full_preprocessing({"bit_depth": 12})


def test_dicom_voi_lut_sequence_preferred_over_window(tmp_path):
  import pydicom
  from pydicom.dataset import Dataset
  from pydicom.sequence import Sequence
  info = synthetic.make_dicom(str(tmp_path / "d"), num_patients=1, per_patient=1)
  ds = pydicom.dcmread(info["files"][0])
  ds.RescaleSlope, ds.RescaleIntercept = 1, 0
  modality = ds.pixel_array.astype(np.int64)
  ds.WindowCenter = float(modality.mean())
  ds.WindowWidth = float(modality.max() - modality.min())
  plain = str(tmp_path / "plain.dcm")
  ds.save_as(plain)
  first = int(modality.min())
  entries = int(modality.max()) - first + 1
  item = Dataset()
  item.LUTDescriptor = [entries, first, 8]
  # An inverting 8-bit VOI LUT: tells the LUT, not the header window, was used
  item.LUTData = [int(round(255 * (1 - i / (entries - 1)))) for i in range(entries)]
  item["LUTData"].VR = "US"
  ds.VOILUTSequence = Sequence([item])
  path = str(tmp_path / "voi.dcm")
  ds.save_as(path)
  windowed = imaging.read_and_prepare(plain, {"channels": 1, "bit_depth": 8})
  lut = imaging.read_and_prepare(path, {"channels": 1, "bit_depth": 8})
  assert np.corrcoef(windowed.ravel(), lut.ravel())[0, 1] < -0.95
  # an explicit window wins over the LUT
  forced = imaging.read_and_prepare(path, {"channels": 1, "bit_depth": 8,
                                           "dicom_window": [float(modality.mean()),
                                                            float(modality.max() - modality.min())]})
  np.testing.assert_array_equal(forced, windowed)
