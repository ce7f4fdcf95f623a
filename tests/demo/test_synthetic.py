"""demo/synthetic.py writes the real raw layouts, and the class is in the pixels."""
import csv
import filecmp
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pydicom
import pytest
from PIL import Image
from scipy import ndimage

from demo import synthetic

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _rel(paths, root):
  return sorted(os.path.relpath(p, root).replace(os.sep, "/") for p in paths)


def _walk(root):
  found = []
  for directory, _, names in os.walk(root):
    found.extend(os.path.join(directory, n) for n in names)
  return sorted(found)


def count_fundus_lesions(path):
  """Dark spots inside the bright fundus disc (holes in the lit area)."""
  rgb = np.asarray(Image.open(path).convert("RGB")).astype(np.float32)
  lit = rgb[..., 0] > 110
  disc = ndimage.binary_fill_holes(lit)
  disc = ndimage.binary_erosion(disc, iterations=2)
  dark = disc & (rgb[..., 0] < 110)
  labels, n = ndimage.label(dark)
  sizes = ndimage.sum(dark, labels, range(1, n + 1))
  return int(np.sum(np.asarray(sizes) >= 3))


def count_opacities(path):
  """Small bright round blobs (white top-hat) on dark lung background."""
  image = np.asarray(Image.open(path)).astype(np.float64)
  image /= 65535.0 if image.max() > 255 else 255.0
  bright = ndimage.white_tophat(ndimage.gaussian_filter(image, 0.6), size=7) > 0.1
  background = ndimage.median_filter(image, size=9)
  labels, n = ndimage.label(bright)
  index = range(1, n + 1)
  sizes = np.asarray(ndimage.sum(bright, labels, index))
  on_lung = np.asarray(ndimage.mean(background, labels, index)) < 0.36
  return int(np.sum((sizes >= 2) & (sizes <= 40) & on_lung))


# --------------------------------------------------------------------------
# Kaggle diabetic retinopathy.

def test_kaggle_dr_layout_matches_kaggle(demo_kaggle_dr):
  root = demo_kaggle_dr["root"]
  with open(os.path.join(root, "trainLabels.csv")) as f:
    rows = list(csv.reader(f))
  assert rows[0] == ["image", "level"]
  listed = {image: int(level) for image, level in rows[1:]}
  on_disk = {os.path.splitext(n)[0] for n in os.listdir(os.path.join(root, "train"))}
  assert set(listed) == on_disk
  assert all(n.endswith(".jpeg") for n in os.listdir(os.path.join(root, "train")))
  assert len(listed) == 60
  patients = {}
  for image in listed:
    pid, eye = image.split("_")
    patients.setdefault(pid, set()).add(eye)
  assert len(patients) == 30
  assert all(eyes == {"left", "right"} for eyes in patients.values())
  assert sorted(set(listed.values())) == [0, 1, 2, 3, 4]
  assert [listed[i] for i in demo_kaggle_dr["images"]] == demo_kaggle_dr["grades"]


def test_fundus_photo_has_black_border_and_wide_frame(demo_kaggle_dr):
  image = np.asarray(Image.open(demo_kaggle_dr["files"][0]).convert("RGB"))
  height, width, _ = image.shape
  assert height == 96 and width == 144
  # Corners and the side bands are (near) black; the centre is a lit disc.
  assert image[:5, :5].max() < 15 and image[-5:, -5:].max() < 15
  assert image[:, :10].mean() < 8 and image[:, -10:].mean() < 8
  assert image[height // 2, width // 2 - 10: width // 2 + 10, 0].min() > 80


def test_dr_grade_is_lesion_count(demo_kaggle_dr):
  counts = [count_fundus_lesions(p) for p in demo_kaggle_dr["files"]]
  expected = [g * synthetic.LESIONS_PER_GRADE for g in demo_kaggle_dr["grades"]]
  assert counts == expected


def test_image_folder_fundus_kind_counts_lesions(make_demo):
  out = make_demo("image_folder", class_names=("none", "mild", "severe"),
                  per_class=3, size=96, kind="fundus")
  assert _rel(out["files"], out["root"])[0] == "mild/mild_000.jpeg"
  counts = [count_fundus_lesions(p) for p in out["files"]]
  assert counts == out["signal_counts"]
  assert out["signal_counts"] == [0] * 3 + [1] * 3 + [2] * 3


# --------------------------------------------------------------------------
# Chest film class folders (pneumoconiosis stages).

def test_image_folder_layout(demo_image_folder):
  root = demo_image_folder["root"]
  assert sorted(os.listdir(root)) == ["0", "1", "2", "3"]
  for name in "0123":
    files = os.listdir(os.path.join(root, name))
    assert len(files) == 12 and all(f.endswith(".png") for f in files)
  image = Image.open(demo_image_folder["files"][0])
  assert image.mode == "L" and image.size == (64, 64)
  assert _rel(demo_image_folder["files"], root) == _rel(_walk(root), root)


def test_xray_stage_is_opacity_density(demo_image_folder):
  counts = {}
  for path, label in zip(demo_image_folder["files"], demo_image_folder["labels"]):
    counts.setdefault(int(label), []).append(count_opacities(path))
  means = [np.mean(counts[s]) for s in range(4)]
  # Stage 0 has no opacities; each stage adds OPACITIES_PER_STAGE (some merge
  # or sit on the heart shadow, where this detector does not look).
  assert max(counts[0]) <= 1
  for stage in (1, 2, 3):
    expected = stage * synthetic.OPACITIES_PER_STAGE
    assert 0.6 * expected <= means[stage] <= 1.05 * expected, (stage, means)
  assert means == sorted(means)
  # Every film shows more opacities than every film two stages below.
  for stage in (2, 3):
    assert min(counts[stage]) > max(counts[stage - 2])


def test_xray_16bit_png(demo_image_folder_16bit):
  image = Image.open(demo_image_folder_16bit["files"][-1])
  assert image.mode in ("I;16", "I")
  array = np.asarray(image)
  assert array.max() > 255 * 4  # really uses more than 8 bits
  assert len(np.unique(array)) > 256
  counts = [count_opacities(p) for p in demo_image_folder_16bit["files"]]
  by_stage = [np.mean(counts[i * 6:(i + 1) * 6]) for i in range(4)]
  assert by_stage == sorted(by_stage) and by_stage[0] < 2 < by_stage[1]


# --------------------------------------------------------------------------
# OCT.

def test_kermany_oct_layout_matches_kermany(demo_kermany_oct):
  root = demo_kermany_oct["root"]
  assert sorted(os.listdir(root)) == ["test", "train", "val"]
  for split, count in zip(("train", "val", "test"), (6, 2, 2)):
    assert sorted(os.listdir(os.path.join(root, split))) == list(synthetic.OCT_CLASSES)
    for name in synthetic.OCT_CLASSES:
      files = os.listdir(os.path.join(root, split, name))
      assert len(files) == count
      for f in files:
        condition, patient, number = f[:-len(".jpeg")].split("-")
        assert condition == name and patient.isdigit() and number.isdigit()
  image = Image.open(demo_kermany_oct["files"][0])
  assert image.mode == "L" and image.format == "JPEG"
  assert image.size[0] > image.size[1]  # B-scans are wider than tall


def test_oct_classes_separable_by_a_linear_model(make_demo):
  from sklearn.linear_model import LogisticRegression
  out = make_demo("kermany_oct", per_class=(16, 0, 8), size=64, seed=3)

  def features(path):
    image = np.asarray(Image.open(path).resize((20, 16)), np.float32) / 255.0
    return image.ravel()

  x = np.stack([features(p) for p in out["files"]])
  y = np.array(out["labels"])
  train = np.array(out["splits"]) == "train"
  model = LogisticRegression(max_iter=2000).fit(x[train], y[train])
  accuracy = (model.predict(x[~train]) == y[~train]).mean()
  assert accuracy >= 0.75  # chance is 0.25


# --------------------------------------------------------------------------
# ChestX-ray14.

def test_chestxray14_layout_matches_nih(demo_chestxray14):
  root = demo_chestxray14["root"]
  table = pd.read_csv(os.path.join(root, "Data_Entry_2017.csv"))
  for column in ("Image Index", "Finding Labels", "Patient ID", "Follow-up #"):
    assert column in table.columns
  assert len(table) == 40
  assert set(table["Image Index"]) == set(os.listdir(os.path.join(root, "images")))
  for _, row in table.iterrows():
    assert row["Image Index"].startswith("%08d_" % row["Patient ID"])
    findings = row["Finding Labels"].split("|")
    assert findings == ["No Finding"] or set(findings) <= set(synthetic.CXR14_FINDINGS)
  assert (table.groupby("Patient ID").size() == 2).all()
  multi = table["Finding Labels"].str.contains("|", regex=False)
  assert multi.any() and (table["Finding Labels"] == "No Finding").any()
  listed = dict(zip(table["Image Index"], table["Finding Labels"]))
  for path, labels in zip(demo_chestxray14["files"], demo_chestxray14["labels"]):
    assert listed[os.path.basename(path)] == ("|".join(labels) or "No Finding")


def test_chestxray14_findings_are_visible(make_demo):
  from sklearn.linear_model import LogisticRegression
  from sklearn.metrics import roc_auc_score
  out = make_demo("chestxray14", num_patients=60, images_per_patient=2, size=48,
                  seed=4)

  def features(path):
    # Coarse pixels (where: heart size, fluid level, collapsed lung) and the
    # area of bright spots on dark lung (nodule, mass).
    image = np.asarray(Image.open(path), np.float32) / 255.0
    coarse = np.asarray(Image.fromarray(image).resize((16, 16))).ravel()
    spots = (image > 0.7) & (ndimage.median_filter(image, size=11) < 0.4)
    return np.concatenate([coarse, [spots.sum() / 10.0]])

  x = np.stack([features(p) for p in out["files"]])
  half = len(x) // 2
  for finding in synthetic.CXR14_FINDINGS:
    y = np.array([finding in labels for labels in out["labels"]])
    model = LogisticRegression(max_iter=3000, C=1.0).fit(x[:half], y[:half])
    auc = roc_auc_score(y[half:], model.predict_proba(x[half:])[:, 1])
    assert auc > 0.7, (finding, auc)


# --------------------------------------------------------------------------
# DICOM.

def _lung_and_tissue(array):
  h, w = array.shape
  lung = array[int(0.45 * h):int(0.55 * h), int(0.27 * w):int(0.33 * w)].mean()
  tissue = array[int(0.88 * h):int(0.92 * h), int(0.45 * w):int(0.55 * w)].mean()
  return lung, tissue


def test_dicom_tree_with_labels_csv(demo_dicom):
  root = demo_dicom["root"]
  assert _rel(_walk(root), root) == sorted(
      demo_dicom["relative_files"] + ["labels.csv"])
  with open(os.path.join(root, "labels.csv")) as f:
    rows = list(csv.reader(f))
  assert rows[0] == ["file", "label"]
  assert [tuple(r) for r in rows[1:]] == list(
      zip(demo_dicom["relative_files"], demo_dicom["labels"]))
  patients = set()
  for path, label in zip(demo_dicom["files"], demo_dicom["labels"]):
    ds = pydicom.dcmread(path)
    assert ds.file_meta.TransferSyntaxUID == pydicom.uid.ExplicitVRLittleEndian
    assert ds.PhotometricInterpretation == "MONOCHROME2"
    assert (ds.BitsAllocated, ds.BitsStored, ds.HighBit) == (16, 12, 11)
    assert ds.PatientID and str(ds.PatientName)
    # Folder and file names never carry the patient identifiers.
    assert ds.PatientID not in path and "PATIENT" not in path.upper()
    patients.add(ds.PatientID)
    assert float(ds.RescaleSlope) == 2.0 and float(ds.RescaleIntercept) == -1024
    array = ds.pixel_array
    assert array.shape == (64, 64) and array.dtype == np.uint16
    assert array.max() < 4096
    modality = array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    low = float(ds.WindowCenter) - float(ds.WindowWidth) / 2
    high = float(ds.WindowCenter) + float(ds.WindowWidth) / 2
    assert low <= modality.min() and modality.max() <= high
    assert modality.max() - modality.min() > 0.5 * float(ds.WindowWidth)
    lung, tissue = _lung_and_tissue(array)
    assert lung < tissue  # MONOCHROME2: air is dark
  assert len(patients) == 8
  assert demo_dicom["labels"].count("0") == 4 and len(set(demo_dicom["labels"])) == 4


def test_dicom_monochrome1_jpeg2000_with_label_tag(demo_dicom_monochrome1_jpeg2000, make_demo):
  out = demo_dicom_monochrome1_jpeg2000
  assert out["labels_file"] is None
  assert not os.path.exists(os.path.join(out["root"], "labels.csv"))
  # The same film, uncompressed: JPEG 2000 lossless must decode to it exactly.
  plain = make_demo("dicom", photometric="MONOCHROME1", bits_stored=16,
                    transfer_syntax="explicit_le", label_source="tag", seed=1)
  for path, plain_path, label in zip(out["files"], plain["files"], out["labels"]):
    ds = pydicom.dcmread(path)
    assert ds.file_meta.TransferSyntaxUID == pydicom.uid.JPEG2000Lossless
    assert ds["PixelData"].is_undefined_length  # encapsulated
    assert ds.PhotometricInterpretation == "MONOCHROME1"
    assert ds.BitsStored == 16
    assert getattr(ds, synthetic.DICOM_LABEL_TAG) == label
    array = ds.pixel_array
    np.testing.assert_array_equal(array, pydicom.dcmread(plain_path).pixel_array)
    assert array.max() > 4095
    lung, tissue = _lung_and_tissue(array)
    assert lung > tissue  # MONOCHROME1: air is stored bright


def test_dicom_jpeg_baseline_decodes(demo_dicom_jpeg_baseline):
  for path in demo_dicom_jpeg_baseline["files"]:
    ds = pydicom.dcmread(path)
    assert ds.file_meta.TransferSyntaxUID == pydicom.uid.JPEGBaseline8Bit
    assert (ds.BitsAllocated, ds.BitsStored) == (8, 8)
    array = ds.pixel_array
    assert array.dtype == np.uint8 and array.shape == (64, 64)
    lung, tissue = _lung_and_tissue(array)
    assert tissue - lung > 20


def test_dicom_rejects_unknown_options(tmp_path):
  with pytest.raises(ValueError, match="transfer_syntax"):
    synthetic.make_dicom(str(tmp_path), transfer_syntax="rle")
  with pytest.raises(ValueError, match="photometric"):
    synthetic.make_dicom(str(tmp_path), photometric="RGB")


# --------------------------------------------------------------------------
# Flowers, determinism, CLI.

def test_flowers_layout(demo_flowers):
  root = os.path.join(demo_flowers["root"], "flower_photos")
  assert sorted(os.listdir(root)) == sorted(synthetic.FLOWER_CLASSES)
  for name in synthetic.FLOWER_CLASSES:
    files = os.listdir(os.path.join(root, name))
    assert len(files) == 8 and all(f.endswith(".jpg") for f in files)
  assert Image.open(demo_flowers["files"][0]).mode == "RGB"


@pytest.mark.parametrize("layout,kwargs", [
    ("kaggle_dr", {"num_patients": 3, "size": 48}),
    ("image_folder", {"per_class": 2, "size": 48, "bit_depth": 16}),
    ("kermany_oct", {"per_class": (2, 1, 1), "size": 48}),
    ("chestxray14", {"num_patients": 3, "size": 48}),
    ("dicom", {"num_patients": 2, "transfer_syntax": "jpeg2000"}),
    ("flowers", {"per_class": 1, "size": 48}),
])
def test_deterministic_per_seed(make_demo, layout, kwargs):
  first = make_demo(layout, seed=7, **kwargs)
  again = make_demo(layout, seed=7, **kwargs)
  other = make_demo(layout, seed=8, **kwargs)
  rel = _rel(_walk(first["root"]), first["root"])
  assert rel == _rel(_walk(again["root"]), again["root"])
  for name in rel:
    assert filecmp.cmp(os.path.join(first["root"], name),
                       os.path.join(again["root"], name), shallow=False), name
  differs = [not filecmp.cmp(a, b, shallow=False) for a, b in
             zip(first["files"], other["files"])]
  assert any(differs)


def test_make_demo_data_cli(tmp_path):
  out = str(tmp_path / "dr")
  run = subprocess.run(
      [sys.executable, os.path.join(REPO, "make_demo_data.py"),
       "--layout=kaggle_dr", "--output_dir=" + out, "--num_patients=3",
       "--size=40"], cwd=REPO, capture_output=True, text=True)
  assert run.returncode == 0, run.stderr
  assert "Wrote 6 kaggle_dr demo files" in run.stdout
  assert len(os.listdir(os.path.join(out, "train"))) == 6
  bad = subprocess.run(
      [sys.executable, os.path.join(REPO, "make_demo_data.py"),
       "--layout=kermany_oct", "--output_dir=" + out, "--num_patients=3"],
      cwd=REPO, capture_output=True, text=True)
  assert bad.returncode != 0
  assert "--num_patients" in bad.stderr and "kermany_oct" in bad.stderr
