"""Class-folder data as hospitals export it: files named 1.png..N.png in every
class folder, patients in sub-folders named after the patient, copies of the
same file, a CSV of patients. Nothing is lost, merged by name, split across
train/validation, or leaked."""
import collections
import csv
import json
import os
import shutil

import numpy as np
import pytest
from PIL import Image

from datasets import convert, dataset_info, tfexample
from demo import synthetic
from tests.datasets.convert_helpers import raw_bytes_of, read_all, run

# Patient folder names as they come out of a PACS export: real names.
PATIENTS = ("MUELLER^HANS", "Doe, Jane 1970-01-01", "SMITH_JOHN", "O'Brien Mary")


def _film(rng, path, stage=0, size=32):
  film, _ = synthetic.draw_chest_film(rng, size, num_opacities=stage * 3)
  film = np.clip(film + rng.normal(0, 0.02, film.shape), 0, 1)   # unique bytes
  os.makedirs(os.path.dirname(path), exist_ok=True)
  Image.fromarray(np.round(film * 255).astype(np.uint8)).save(path)
  return path


def _report(out):
  return json.load(open(os.path.join(out, "conversion_report.json")))


def _skipped(report):
  return report["skipped_while_scanning"] + report.get("skipped_while_reading", [])


def _written(out):
  info, splits = read_all(out)
  return info, {r["source_id"]: dict(r, split=s)
                for s, rs in splits.items() for r in rs}


def test_same_file_names_in_every_class_folder_are_all_converted(tmp_path):
  rng = np.random.default_rng(0)
  root = tmp_path / "pneumo"
  for stage in "0123":
    for n in range(1, 7):
      _film(rng, str(root / stage / ("%d.png" % n)), int(stage))
  out = tmp_path / "out"
  result = run("pneumo", root, out, layout="image_folder", validation_size=0.25)
  info, found = _written(out)
  assert result.written == 24 and result.skipped == 0
  assert sorted(found) == sorted("%s/%d.png" % (s, n) for s in "0123" for n in range(1, 7))
  for source_id, record in found.items():
    assert info.class_names[record["label"]] == source_id.split("/")[0]
  # no patients: one group per image
  assert sum(s.num_patients for s in info.splits.values()) == 24


def _nested(tmp_path, loose=1, per_patient=4):
  """<stage>/<patient name>/<1..k>.png, every patient under one stage except
  PATIENTS[0], who has films under stages 0 and 1 (follow-up); plus loose
  files directly in each class folder."""
  rng = np.random.default_rng(1)
  root = tmp_path / "pneumo"
  where = collections.defaultdict(list)
  for stage in "0123":
    for p, name in enumerate(PATIENTS):
      if p == 0 and stage not in "01":
        continue
      for n in range(1, per_patient + 1):
        path = _film(rng, str(root / stage / name / ("%d.png" % n)), int(stage))
        where[name].append(path)
    for n in range(1, loose + 1):
      _film(rng, str(root / stage / ("%d.png" % n)), int(stage))
  return root, where


def test_patient_folders_all_read_grouped_and_never_named(tmp_path):
  root, where = _nested(tmp_path)
  total = sum(len(v) for v in where.values()) + 4
  out = tmp_path / "out"
  result = run("pneumo", root, out, layout="image_folder", validation_size=0.3,
               random_seed=3)
  info, found = _written(out)
  assert result.written == total == 4 * 3 * 4 + 2 * 4 + 4 and result.skipped == 0
  groups = collections.defaultdict(set)
  for source_id, record in found.items():
    groups[record["patient_group"]].add(record["split"])
    parts = source_id.split("/")
    if len(parts) == 3:           # <stage>/<hash of the patient folder>/<n>.png
      assert parts[1] == record["patient_group"]
  # every patient folder is one group (the same name under two stages too),
  # every loose file its own group; no group is split
  expected = {tfexample.anonymize(name) for name in PATIENTS}
  assert expected <= set(groups)
  assert len(groups) == len(PATIENTS) + 4
  assert all(len(splits) == 1 for splits in groups.values())
  assert sum(s.num_patients for s in info.splits.values()) == len(groups)
  for name, paths in where.items():
    for path in paths:
      rel = os.path.relpath(path, root).split(os.sep)
      assert found["%s/%s/%s" % (rel[0], tfexample.anonymize(name), rel[2])]
  # no patient name anywhere in what the converter wrote
  blob = raw_bytes_of(out)
  for name in PATIENTS:
    assert name.encode() not in blob, name


def test_patient_names_stay_out_of_reports_for_broken_files(tmp_path):
  root, _ = _nested(tmp_path, loose=0, per_patient=2)
  open(root / "2" / PATIENTS[1] / "notes.txt", "w").write("x")     # not an image
  open(root / "3" / PATIENTS[2] / "9.png", "wb").close()           # zero bytes
  os.symlink(str(tmp_path / "gone.png"), str(root / "1" / PATIENTS[3] / "8.png"))
  out = tmp_path / "out"
  result = run("pneumo", root, out, layout="image_folder", validation_size=0.0)
  assert result.skipped == 3
  text = open(out / "conversion_report.json").read()
  assert "zero-byte" in text and "not an image file" in text and "cannot read" in text
  for name in PATIENTS:
    assert json.dumps(name)[1:-1] not in text, name
  assert "3/%s/9.png" % tfexample.anonymize(PATIENTS[2]) in text


def test_byte_identical_files_are_duplicates_and_label_conflicts(tmp_path):
  rng = np.random.default_rng(2)
  root = tmp_path / "pneumo"
  for stage in "012":
    for n in range(1, 5):
      _film(rng, str(root / stage / ("%d.png" % n)), int(stage))
  shutil.copy(root / "0" / "1.png", root / "0" / "copy of 1.png")   # same class
  shutil.copy(root / "1" / "2.png", root / "2" / "7.png")           # other class
  out = tmp_path / "out"
  result = run("pneumo", root, out, layout="image_folder", validation_size=0.0)
  _, found = _written(out)
  report = _report(out)
  reasons = {s["input"]: s["reason"] for s in _skipped(report)}
  # the duplicate: first copy kept, the other reported
  assert "0/1.png" in found and "0/copy of 1.png" not in found
  assert "duplicate file" in reasons["0/copy of 1.png"]
  assert "0/1.png" in reasons["0/copy of 1.png"]
  # the conflict: same bytes labelled 1 and 2 -> neither trusted, both reported
  assert "1/2.png" not in found and "2/7.png" not in found
  assert "label conflict" in reasons["1/2.png"] and "label conflict" in reasons["2/7.png"]
  assert result.written == 12 - 1 and result.skipped == 3
  assert report["notes"]["identical_files"] == {"duplicates_skipped": 1,
                                                "label_conflicts_skipped": 2}
  # same NAME, different bytes is not a duplicate: 1.png exists in every class
  assert {"0/2.png", "2/2.png"} <= set(found)


def test_kermany_oct_same_names_in_two_classes_and_patient_folders(tmp_path):
  rng = np.random.default_rng(3)
  root = tmp_path / "oct"
  for split in ("train", "test"):
    for condition in ("CNV", "NORMAL"):
      for n in range(1, 4):
        array = synthetic.draw_oct(rng, 32, condition)
        synthetic._save(array, str(root / split / condition / ("%d.jpeg" % n)))
      for n in range(1, 3):
        array = synthetic.draw_oct(rng, 32, condition)
        synthetic._save(array, str(root / split / condition / PATIENTS[0] / ("%d.jpeg" % n)))
  out = tmp_path / "out"
  result = run("kermany_oct", root, out, validation_size=0.0)
  _, found = _written(out)
  assert result.written == 2 * 2 * 5 and result.skipped == 0
  token = tfexample.anonymize(PATIENTS[0])
  assert "train/CNV/1.jpeg" in found and "train/NORMAL/1.jpeg" in found
  assert found["test/NORMAL/%s/2.jpeg" % token]["patient_group"] == token
  assert PATIENTS[0].encode() not in raw_bytes_of(out)


def _patients_csv(path, rows, header=True):
  with open(path, "w", newline="") as f:
    w = csv.writer(f)
    if header:
      w.writerow(["file", "patient_id"])
    w.writerows(rows)
  return str(path)


def test_patients_file_groups_flat_files_and_reports_bad_rows(tmp_path):
  rng = np.random.default_rng(4)
  root = tmp_path / "pneumo"
  for stage in "01":
    for n in range(1, 9):
      _film(rng, str(root / stage / ("%d.png" % n)), int(stage))
  # files 1..4 of each stage belong to two patients (2 films each per stage);
  # 5..8 are not listed and keep one group per image
  rows = [("%s/%d.png" % (s, n), PATIENTS[(n - 1) // 2]) for s in "01" for n in range(1, 5)]
  rows += [("1/99.png", "Ghost, Patient"),          # no such file
           ("0/1.png", PATIENTS[3]),                # listed again
           ("0/2.png",)]                            # one column
  patients = _patients_csv(tmp_path / "patients.csv", rows)
  out = tmp_path / "out"
  result = run("pneumo", root, out, layout="image_folder", validation_size=0.5,
               patients_file=patients, random_seed=1)
  info, found = _written(out)
  assert result.written == 16 and result.skipped == 3
  for rel, patient in rows[:8]:
    assert found[rel]["patient_group"] == tfexample.anonymize(patient)
  groups = collections.defaultdict(set)
  for r in found.values():
    groups[r["patient_group"]].add(r["split"])
  assert all(len(s) == 1 for s in groups.values())
  assert len(groups) == 2 + 8
  report = _report(out)
  reasons = {s["input"]: s["reason"] for s in _skipped(report)}
  assert "missing" in reasons["patients.csv:10"]
  assert "listed again" in reasons["patients.csv:11"]
  assert "two columns" in reasons["patients.csv:12"]
  notes = report["notes"]["patients_file"]
  assert notes["files_assigned"] == 8 and notes["files_not_listed"] == 8
  assert "one group per image" in notes["files_not_listed_grouping"]
  blob = raw_bytes_of(out)
  for name in PATIENTS + ("Ghost",):
    assert name.encode() not in blob


def test_patients_file_with_another_layout_and_missing_file(make_demo, tmp_path):
  d = make_demo("flowers", per_class=2, size=32)
  rel = [os.path.relpath(f, d["root"]).replace(os.sep, "/") for f in d["files"]]
  # every photo of the first two classes taken of one "patient"
  first = [r for r in rel if r.split("/")[1] in d["class_names"][:2]]
  patients = _patients_csv(tmp_path / "p.csv", [(r, "P7") for r in first],
                           header=False)
  out = tmp_path / "out"
  run("flowers", d["root"], out, patients_file=patients, validation_size=0.3)
  _, found = _written(out)
  same = [r for r in found.values() if r["patient_group"] == tfexample.anonymize("P7")]
  assert len(same) == len(first) and len({r["split"] for r in same}) == 1
  with pytest.raises(convert.ConversionError, match="--patients_file") as err:
    run("flowers", d["root"], tmp_path / "out2", patients_file="nope.csv")
  assert "\n" not in str(err.value)
  one_column = _patients_csv(tmp_path / "one.csv", [(first[0],)], header=False)
  with pytest.raises(convert.ConversionError, match="two columns") as err:
    run("flowers", d["root"], tmp_path / "out3", patients_file=one_column)
  assert "\n" not in str(err.value) and first[0] not in str(err.value)


# ------------------------------------------------------------------ --strict
def _published(out):
  return sorted(n for n in os.listdir(out) if n != "conversion_report.json")


def test_strict_publishes_nothing_on_scan_skips(tmp_path):
  rng = np.random.default_rng(5)
  root = tmp_path / "pneumo"
  for stage in "01":
    for n in range(1, 4):
      _film(rng, str(root / stage / ("%d.png" % n)), int(stage))
  shutil.copy(root / "0" / "1.png", root / "1" / "9.png")    # label conflict
  out = tmp_path / "out"
  with pytest.raises(convert.ConversionError, match="--strict.*nothing published"):
    run("pneumo", root, out, layout="image_folder", strict=True)
  assert _published(out) == []
  report = _report(out)
  assert report["published"] is False
  assert any("label conflict" in s["reason"] for s in _skipped(report))


def test_strict_publishes_nothing_on_decode_skips(tmp_path):
  """A truncated PNG passes the scan and fails only when read: shards of the
  other files are already written by then, and must not stay."""
  rng = np.random.default_rng(6)
  root = tmp_path / "pneumo"
  for stage in "01":
    for n in range(1, 7):
      _film(rng, str(root / stage / ("%d.png" % n)), int(stage), size=48)
  data = open(root / "1" / "4.png", "rb").read()
  open(root / "1" / "4.png", "wb").write(data[: len(data) // 2])
  out = tmp_path / "out"
  with pytest.raises(convert.ConversionError, match="--strict.*nothing published"):
    run("pneumo", root, out, layout="image_folder", strict=True, num_shards=3)
  assert _published(out) == []
  report = _report(out)
  assert report["published"] is False
  assert [s["input"] for s in report["skipped_while_reading"]] == ["1/4.png"]
  # without --strict the same data converts, the broken file reported
  result = run("pneumo", root, tmp_path / "lenient", layout="image_folder")
  assert result.written == 11 and result.skipped == 1
  assert dataset_info.read(str(tmp_path / "lenient")).splits
  assert _report(tmp_path / "lenient")["published"] is True
