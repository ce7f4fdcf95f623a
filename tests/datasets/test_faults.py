"""Bad input loses nothing and stops nothing: every fault is skipped, counted
and reported; only unusable input, --strict, a wrong --dataset_dir or a CSV
without the needed columns stop the conversion, with a one-line error."""
import json
import os
import shutil

import pydicom
import pytest

from datasets import convert, dataset_info
from tests.datasets.convert_helpers import read_all, run


def _report(out):
  return json.load(open(os.path.join(out, "conversion_report.json")))


def _reasons(report):
  return [s["reason"] for s in report["skipped_while_scanning"]
          + report["skipped_while_reading"]]


def _damage_dr(d):
  """Every Kaggle-DR fault at once; returns the stems that must survive."""
  files = dict(zip(d["images"], d["files"]))
  good = set(d["images"])
  stems = sorted(d["images"])
  open(files[stems[0]], "wb").close()                              # zero-byte
  data = open(files[stems[1]], "rb").read()
  open(files[stems[1]], "wb").write(data[: len(data) // 3])        # truncated
  open(files[stems[2]], "w").write("<html>not a photo</html>")     # non-image
  os.remove(files[stems[3]])                                       # row, no file
  with open(d["csv"], "a") as f:
    f.write("%s,7\n" % stems[4])                                   # unknown label
    f.write("%s,%d\n" % (stems[5], d["grades"][d["images"].index(stems[5])]))  # duplicate
  shutil.copy(files[stems[6]], os.path.join(d["root"], "train", "999_left.jpeg"))  # unlisted
  good -= set(stems[:4])
  return good


def test_every_dr_fault_skipped_counted_reported(make_demo, tmp_path):
  d = make_demo("kaggle_dr", num_patients=10, size=48)
  good = _damage_dr(d)
  out = tmp_path / "out"
  result = run("kaggle_dr", d["root"], out, validation_size=0.2)
  _, splits = read_all(out)
  written = {r["source_id"] for rs in splits.values() for r in rs}
  assert written == good and result.written == len(good) == 16
  report = _report(out)
  reasons = " | ".join(_reasons(report))
  for expected in ("zero-byte", "truncated", "not an image", "missing",
                   "outside the known set", "duplicate", "not listed"):
    assert expected in reasons, expected
  assert report["skipped"] == result.skipped == 7
  assert "skipped 7" in result.summary()
  # the stem whose label was 7 is still written once, with its real grade
  assert sorted(d["images"])[4] in written


def test_strict_fails_on_any_skip(make_demo, tmp_path):
  d = make_demo("kaggle_dr", num_patients=4, size=48)
  _damage_dr(d)
  with pytest.raises(convert.ConversionError, match="--strict"):
    run("kaggle_dr", d["root"], tmp_path / "out", strict=True)
  # decode faults only show up while reading: still a failure with --strict
  d2 = make_demo("kaggle_dr", num_patients=4, size=48)
  open(d2["files"][0], "wb").close()
  with pytest.raises(convert.ConversionError, match="--strict"):
    run("kaggle_dr", d2["root"], tmp_path / "out2", strict=True)


def test_image_folder_faults(make_demo, tmp_path):
  d = make_demo("image_folder", class_names=("0", "1", "2"), per_class=4, size=64)
  os.makedirs(os.path.join(d["root"], "3"))                 # empty class folder
  open(os.path.join(d["root"], "1", "readme.txt"), "w").write("notes")
  open(os.path.join(d["root"], "2", "scan.png"), "w").write("garbage")
  out = tmp_path / "out"
  result = run("image_folder", d["root"], out, validation_size=0.0)
  assert dataset_info.read(str(out)).class_names == ["0", "1", "2"]
  reasons = " | ".join(_reasons(_report(out)))
  assert "empty class folder" in reasons and "not an image file (extension)" in reasons
  assert "not an image" in reasons
  assert result.written == 12 and result.skipped == 3


def test_dicom_faults(make_demo, tmp_path):
  d = make_demo("dicom", num_patients=3, per_patient=2)
  ds = pydicom.dcmread(d["files"][0])
  del ds.PixelData
  ds.save_as(d["files"][0])                                  # no pixel data
  os.remove(d["files"][1])                                   # listed, missing
  with open(d["labels_file"], "a") as f:
    f.write("%s,%s\n" % (d["relative_files"][2], d["labels"][2]))  # duplicate row
  out = tmp_path / "out"
  result = run("dicom", d["root"], out, labels_file=d["labels_file"],
               validation_size=0.0, class_names=["0", "1", "2", "3"])
  reasons = " | ".join(_reasons(_report(out)))
  assert "without pixel data" in reasons and "missing" in reasons
  assert "duplicate" in reasons
  assert result.written == 4 and result.skipped == 3
  text = open(out / "conversion_report.json").read()
  assert "study_" not in text and "DEMO" not in text   # no paths or ids for DICOM


def test_label_outside_known_set_dicom(make_demo, tmp_path):
  d = make_demo("dicom", num_patients=2, per_patient=2)
  result = run("dicom", d["root"], tmp_path / "out", labels_file=d["labels_file"],
               validation_size=0.0, class_names=["0", "1"])
  assert result.written == 2 and result.skipped == 2
  assert "outside the known set" in " ".join(_reasons(_report(tmp_path / "out")))


def test_csv_without_columns_is_one_line_error(make_demo, tmp_path):
  d = make_demo("kaggle_dr", num_patients=2, size=48)
  open(d["csv"], "w").write("name,grade\n%s,1\n" % d["images"][0])
  with pytest.raises(convert.ConversionError) as err:
    run("kaggle_dr", d["root"], tmp_path / "out")
  message = str(err.value)
  assert "\n" not in message and "image, level" in message and "trainLabels.csv" in message
  x = make_demo("chestxray14", num_patients=2, size=32)
  open(x["csv"], "w").write("Image Index,Labels\n")
  with pytest.raises(convert.ConversionError, match="Finding Labels, Patient ID"):
    run("chestxray14", x["root"], tmp_path / "out2")


def test_wrong_dataset_dir_is_one_line_error(tmp_path, make_demo):
  with pytest.raises(convert.ConversionError, match="not a folder"):
    run("kaggle_dr", tmp_path / "absent", tmp_path / "out")
  d = make_demo("kermany_oct", per_class=(1, 1, 1))
  with pytest.raises(convert.ConversionError, match="trainLabels.csv") as err:
    run("kaggle_dr", d["root"], tmp_path / "out")   # an OCT tree is no DR tree
  assert "\n" not in str(err.value)
  with pytest.raises(convert.ConversionError, match="expected one of"):
    run("imagenet", d["root"], tmp_path / "out")


def test_nothing_usable_fails_and_reports(make_demo, tmp_path):
  d = make_demo("image_folder", class_names=("0", "1"), per_class=2, size=64)
  for path in d["files"]:
    open(path, "wb").close()
  with pytest.raises(convert.ConversionError, match="no image could be read"):
    run("image_folder", d["root"], tmp_path / "out")
  assert len(_report(tmp_path / "out")["skipped_while_reading"]) == 4


def test_existing_output_is_never_destroyed(demo_flowers, tmp_path):
  out = tmp_path / "out"
  run("flowers", demo_flowers["root"], out)
  before = {n: open(out / n, "rb").read() for n in os.listdir(out)}
  with pytest.raises(convert.ConversionError, match="--overwrite"):
    run("flowers", demo_flowers["root"], out, image_size=40)
  assert {n: open(out / n, "rb").read() for n in os.listdir(out)} == before
  run("flowers", demo_flowers["root"], out, image_size=40, overwrite=True)
  assert dataset_info.read(str(out)).image_size == 40


def test_dicom_without_labels_is_one_line_error(make_demo, tmp_path):
  d = make_demo("dicom", num_patients=1, per_patient=1)
  with pytest.raises(convert.ConversionError, match="--labels_file.*--label_tag"):
    run("dicom", d["root"], tmp_path / "out")
