"""Conversion of every raw layout on generated data: records round-trip through
dataset_factory.get_split, labels and patient groups are right, and metadata
(dataset_info.json, labels.txt, split_manifest.csv, conversion_report.json)
describes exactly what was written."""
import collections
import csv
import json
import os

import numpy as np

from datasets import dataset_info, tfexample
from tests.datasets.convert_helpers import raw_bytes_of, read_all, run


def _by_id(splits):
  found = {}
  for split, records in splits.items():
    for r in records:
      assert r["source_id"] not in found, "record written twice"
      found[r["source_id"]] = dict(r, split=split)
  return found


def _check_metadata(out, info, splits):
  """dataset_info counts, labels.txt and manifest agree with the records."""
  labels = dataset_info.read_labels_file(str(out))
  assert [labels[i] for i in range(len(labels))] == info.class_names
  manifest = list(csv.DictReader(open(os.path.join(out, "split_manifest.csv"))))
  assert sorted((m["source_id"], m["split"], m["patient_group"]) for m in manifest) == \
      sorted((r["source_id"], s, r["patient_group"])
             for s, rs in splits.items() for r in rs)
  for name, records in splits.items():
    split = info.splits[name]
    assert split.num_examples == len(records)
    assert split.num_patients == len({r["patient_group"] for r in records})
    counts = np.zeros(len(info.class_names), int)
    for r in records:
      if info.multilabel:
        counts += np.array(r["label"])
      else:
        counts[r["label"]] += 1
    assert counts.tolist() == split.class_counts


def test_kaggle_dr(demo_kaggle_dr, tmp_path):
  out = tmp_path / "out"
  result = run("kaggle_dr", demo_kaggle_dr["root"], out, validation_size=0.2,
               num_shards=3)
  info, splits = read_all(out, "kaggle_dr")
  assert (info.source_layout, info.task, info.graded) == ("kaggle_dr", "multiclass", True)
  assert info.modality == "fundus"
  assert info.class_names == ["0", "1", "2", "3", "4"]
  assert (info.channels, info.bit_depth, info.image_size) == (3, 8, 32)
  assert info.preprocessing["crop_black_borders"] == 10  # on for fundus
  assert info.splits["train"].num_shards == 3
  found = _by_id(splits)
  assert sorted(found) == sorted(demo_kaggle_dr["images"]) and result.skipped == 0
  for stem, grade, pid in zip(demo_kaggle_dr["images"], demo_kaggle_dr["grades"],
                              demo_kaggle_dr["patients"]):
    assert found[stem]["label"] == grade
    assert found[stem]["patient_group"] == tfexample.anonymize(pid)
  # both eyes of a patient in one split
  for pid in set(demo_kaggle_dr["patients"]):
    assert found[pid_eye(pid, "left")]["split"] == found[pid_eye(pid, "right")]["split"]
  assert 8 <= len(splits["validation"]) <= 16
  assert splits["train"][0]["image"].shape == (32, 32, 3)
  _check_metadata(out, info, splits)
  report = json.load(open(out / "conversion_report.json"))
  assert report["written"] == 60 and report["skipped"] == 0


def pid_eye(pid, eye):
  return "%s_%s" % (pid, eye)


def test_records_are_what_read_and_prepare_gives(demo_kaggle_dr, tmp_path):
  """predict/visualize call imaging.read_and_prepare with the stored
  preprocessing dict: it must reproduce the stored pixels exactly."""
  from datasets import imaging
  out = tmp_path / "out"
  run("kaggle_dr", demo_kaggle_dr["root"], out, validation_size=0.0, num_shards=1)
  info, splits = read_all(out)
  record = splits["train"][0]
  path = demo_kaggle_dr["files"][demo_kaggle_dr["images"].index(record["source_id"])]
  again = imaging.read_and_prepare(path, info.preprocessing)
  np.testing.assert_array_equal(np.round(record["image"] * 255).astype(np.uint8), again)


def test_kermany_oct_keeps_given_splits(demo_kermany_oct, tmp_path):
  out = tmp_path / "out"
  run("kermany_oct", demo_kermany_oct["root"], out)
  info, splits = read_all(out, "kermany_oct")
  assert {k: len(v) for k, v in splits.items()} == {"train": 24, "validation": 8, "test": 8}
  assert info.channels == 1 and info.source_layout == "kermany_oct"
  assert info.modality == "oct"
  given = {"train": "train", "val": "validation", "test": "test"}
  found = _by_id(splits)
  for path, label, split, pid in zip(demo_kermany_oct["files"], demo_kermany_oct["labels"],
                                     demo_kermany_oct["splits"], demo_kermany_oct["patients"]):
    record = found[os.path.relpath(path, demo_kermany_oct["root"]).replace(os.sep, "/")]
    assert record["split"] == given[split]
    assert info.class_names[record["label"]] == label
    assert record["patient_group"] == tfexample.anonymize(pid)
  _check_metadata(out, info, splits)


def _as_before_the_rename(out, old, new, **changes):
  """Makes a conversion look like one written under the old name ``old``."""
  for name in os.listdir(out):
    if name.startswith(new + "_"):
      os.rename(out / name, out / (old + name[len(new):]))
  data = json.load(open(out / "dataset_info.json"))
  data.update(dict(name=old, file_pattern=old + "_%s_*.tfrecord"), **changes)
  data = {k: v for k, v in data.items() if v is not None}
  json.dump(data, open(out / "dataset_info.json", "w"))


def test_datasets_converted_under_the_old_names_still_load(demo_kermany_oct, tmp_path):
  import pytest
  from datasets import dataset_factory
  out = tmp_path / "out"
  run("kermany_oct", demo_kermany_oct["root"], out)
  _as_before_the_rename(out, "oct", "kermany_oct")
  info, splits = read_all(out, "kermany_oct")
  assert info.name == "kermany_oct" and info.file_pattern == "oct_%s_*.tfrecord"
  assert {k: len(v) for k, v in splits.items()} == {"train": 24, "validation": 8, "test": 8}
  assert dataset_factory.get_split(None, "test", str(out)).dataset_name == "kermany_oct"
  with pytest.raises(ValueError, match=r"^--dataset_name=oct is now called "
                     r"kermany_oct: pass --dataset_name=kermany_oct$"):
    dataset_factory.get_split("oct", "test", str(out))
  # a file without file_pattern: the shards still carry the old name
  _as_before_the_rename(out, "oct", "kermany_oct", file_pattern=None)
  assert len(read_all(out, "kermany_oct")[1]["test"]) == 8
  # your own dataset called "oct" (another layout) keeps its name
  _as_before_the_rename(out, "oct", "kermany_oct", source_layout="image_folder")
  assert dataset_info.read(str(out)).name == "oct"
  assert len(read_all(out, "oct")[1]["test"]) == 8


def test_old_dataset_names_given_to_the_converter_name_the_new_one(tmp_path):
  import pytest
  from datasets.convert import ConversionError
  for name, layout, message in [
      ("diabetic", None, "--dataset_name=diabetic is now called kaggle_dr: "
                         "pass --dataset_name=kaggle_dr"),
      ("diabetic", "kaggle_dr", "--dataset_name=diabetic is now called kaggle_dr"),
      ("mine", "oct", "--layout=oct is now called kermany_oct: pass "
                      "--layout=kermany_oct")]:
    with pytest.raises(ConversionError, match="^" + message):
      run(name, tmp_path, tmp_path / "out", layout=layout)
  assert not (tmp_path / "out").exists()


def test_image_folder_8bit_stages(demo_image_folder, tmp_path):
  out = tmp_path / "out"
  run("image_folder", demo_image_folder["root"], out, validation_size=0.25)
  info, splits = read_all(out)
  assert info.graded and info.class_names == ["0", "1", "2", "3"]
  assert (info.channels, info.bit_depth) == (1, 8)  # grayscale films probed
  assert info.modality == "xray"                    # grayscale class folders
  assert [c for c in info.splits["validation"].class_counts] == [3, 3, 3, 3]
  found = _by_id(splits)
  for path, label in zip(demo_image_folder["files"], demo_image_folder["labels"]):
    rel = os.path.relpath(path, demo_image_folder["root"]).replace(os.sep, "/")
    assert info.class_names[found[rel]["label"]] == label
  _check_metadata(out, info, splits)


def test_image_folder_16bit_kept(demo_image_folder_16bit, tmp_path):
  out = tmp_path / "out"
  run("image_folder", demo_image_folder_16bit["root"], out, image_size=48)
  info, splits = read_all(out)
  assert (info.bit_depth, info.channels) == (16, 1)
  pixels = np.concatenate([r["image"].ravel() for r in splits["train"]]) * 65535
  # 16-bit precision survived: values are not all multiples of 257 (8-bit)
  assert np.mean(np.abs(np.round(pixels) % 257) > 0) > 0.5
  eight = tmp_path / "eight"
  run("image_folder", demo_image_folder_16bit["root"], eight, image_size=48,
      bit_depth=8)
  assert dataset_info.read(str(eight)).bit_depth == 8


def test_chestxray14_multilabel(demo_chestxray14, tmp_path):
  out = tmp_path / "out"
  run("chestxray14", demo_chestxray14["root"], out, validation_size=0.25)
  info, splits = read_all(out, "chestxray14")
  assert info.task == "multilabel" and not info.graded
  assert info.modality == "xray"
  assert info.class_names == sorted(info.class_names)
  found = _by_id(splits)
  assert len(found) == 40
  for path, labels, pid in zip(demo_chestxray14["files"], demo_chestxray14["labels"],
                               demo_chestxray14["patients"]):
    record = found[os.path.splitext(os.path.basename(path))[0]]
    assert [info.class_names[i] for i, v in enumerate(record["label"]) if v] == \
        [f for f in info.class_names if f in labels]
    assert record["patient_group"] == tfexample.anonymize(pid)
  groups = collections.defaultdict(set)
  for r in found.values():
    groups[r["patient_group"]].add(r["split"])
  assert all(len(s) == 1 for s in groups.values())
  _check_metadata(out, info, splits)


def _no_identifiers(out, info_dict):
  blob = raw_bytes_of(out)
  for pid in set(info_dict["patient_ids"]):
    assert pid.encode() not in blob
  assert b"DEMO^PATIENT" not in blob and b"study_" not in blob


def test_dicom_labels_csv_anonymised(demo_dicom, tmp_path):
  out = tmp_path / "out"
  run("dicom", demo_dicom["root"], out, labels_file=demo_dicom["labels_file"])
  info, splits = read_all(out, "dicom")
  assert (info.bit_depth, info.channels) == (16, 1)  # 12-bit films kept
  assert info.modality == "xray"
  found = _by_id(splits)
  assert len(found) == 16
  groups = collections.defaultdict(set)
  for r in found.values():
    assert not r["source_id"].startswith("image_")   # hashed, not the file stem
    groups[r["patient_group"]].add(r["split"])
  assert set(groups) == {tfexample.anonymize(p) for p in demo_dicom["patient_ids"]}
  assert all(len(s) == 1 for s in groups.values())
  _no_identifiers(out, demo_dicom)
  _check_metadata(out, info, splits)


def test_dicom_label_tag_monochrome1_jpeg2000(demo_dicom_monochrome1_jpeg2000,
                                              demo_dicom, tmp_path):
  d = demo_dicom_monochrome1_jpeg2000
  out = tmp_path / "out"
  run("dicom", d["root"], out, label_tag="SeriesDescription", validation_size=0.0,
      bit_depth=8)
  info, splits = read_all(out)
  assert info.class_names == ["0", "1", "2", "3"] and info.graded
  assert sum(info.splits["train"].class_counts) == 16
  # MONOCHROME1 inverted: films look like the MONOCHROME2 ones (lungs darker
  # than the mediastinum, bright body), i.e. same mean brightness range
  m2 = tmp_path / "m2"
  run("dicom", demo_dicom["root"], m2, labels_file=demo_dicom["labels_file"],
      validation_size=0.0, bit_depth=8)
  _, plain = read_all(m2)
  mean_m1 = np.mean([r["image"].mean() for r in splits["train"]])
  mean_m2 = np.mean([r["image"].mean() for r in plain["train"]])
  assert abs(mean_m1 - mean_m2) < 0.08
  _no_identifiers(out, d)


def test_dicom_min_class_count_drops_long_tail(make_demo, tmp_path):
  import pydicom
  d = make_demo("dicom", num_patients=6, per_patient=2, label_source="tag")
  # make class "3" rare: relabel all but one of its files as "0"
  rare = [f for f, l in zip(d["files"], d["labels"]) if l == "3"]
  for path in rare[1:]:
    ds = pydicom.dcmread(path)
    ds.SeriesDescription = "0"
    ds.save_as(path)
  out = tmp_path / "out"
  result = run("dicom", d["root"], out, label_tag="SeriesDescription",
               min_class_count=2, validation_size=0.0)
  info = dataset_info.read(str(out))
  assert info.class_names == ["0", "1", "2"]
  report = json.load(open(out / "conversion_report.json"))
  assert report["notes"]["dropped_classes"] == {"3": 1}
  assert result.skipped == 1 and result.written == 11


def test_flowers(demo_flowers, tmp_path):
  out = tmp_path / "out"
  run("flowers", demo_flowers["root"], out)
  info, splits = read_all(out, "flowers")
  assert info.class_names == sorted(demo_flowers["class_names"])
  assert not info.graded and info.channels == 3 and info.modality == "natural"
  assert sum(len(v) for v in splits.values()) == 40
  _check_metadata(out, info, splits)


def test_parallel_workers_write_the_same_records(demo_flowers, tmp_path):
  one, two = tmp_path / "one", tmp_path / "two"
  run("flowers", demo_flowers["root"], one, num_workers=1)
  run("flowers", demo_flowers["root"], two, num_workers=2)
  for name in sorted(os.listdir(one)):
    if name.endswith(".tfrecord") or name == "split_manifest.csv":
      assert open(one / name, "rb").read() == open(two / name, "rb").read(), name


def test_own_dataset_name_with_layout_and_keep_originals(demo_image_folder, tmp_path):
  out = tmp_path / "out"
  run("pneumoconiosis", demo_image_folder["root"], out, layout="image_folder",
      resize_mode="keep", validation_size=0.0, test_size=0.25, random_seed=5)
  info, splits = read_all(out, "pneumoconiosis")
  assert info.name == "pneumoconiosis" and info.source_layout == "image_folder"
  assert info.image_size is None and info.preprocessing["resize"] == "keep"
  assert set(splits) == {"train", "test"} and len(splits["test"]) == 12
  assert splits["train"][0]["image"].shape == (64, 64, 1)   # original size kept
  assert all(n.startswith("pneumoconiosis_") for n in os.listdir(out)
             if n.endswith(".tfrecord"))


def test_kermany_oct_without_val_folder_carves_validation_by_patient(make_demo, tmp_path):
  import shutil
  d = make_demo("kermany_oct", per_class=(6, 2, 2))
  shutil.rmtree(os.path.join(d["root"], "val"))
  out = tmp_path / "out"
  run("kermany_oct", d["root"], out, validation_size=0.25)
  info, splits = read_all(out)
  assert len(splits["test"]) == 8 and len(splits["train"]) + len(splits["validation"]) == 24
  assert 4 <= len(splits["validation"]) <= 8
  train_groups = {r["patient_group"] for r in splits["train"]}
  assert not train_groups & {r["patient_group"] for r in splits["validation"]}


def test_modality_of_colour_class_folders_override_and_old_files(make_demo, tmp_path):
  import pytest
  from datasets import convert
  d = make_demo("image_folder", class_names=("0", "1"), per_class=3, size=32,
                kind="fundus")
  run("photos", d["root"], tmp_path / "auto", layout="image_folder")
  assert dataset_info.read(str(tmp_path / "auto")).modality == "natural"   # colour
  run("photos", d["root"], tmp_path / "given", layout="image_folder", modality="fundus")
  info = dataset_info.read(str(tmp_path / "given"))
  assert info.modality == "fundus"
  report = json.load(open(tmp_path / "given" / "conversion_report.json"))
  assert report["modality"] == {"modality": "fundus", "chosen_by": "--modality"}
  with pytest.raises(convert.ConversionError, match="--modality must be one of") as err:
    run("photos", d["root"], tmp_path / "bad", layout="image_folder", modality="ct")
  assert "\n" not in str(err.value)
  # dataset_info.json written before the field existed still reads
  data = json.loads(info.to_json())
  del data["modality"]
  assert dataset_info.DatasetInfo.from_dict(data).modality is None
