"""Conversion on Apache Beam (--runner) against the local converter: the same
raw data converted both ways gives the same records per split (pixels,
labels, ids), byte-identical shards under the same names, the same
dataset_info.json, labels.txt, split_manifest.csv and faults report; --strict
publishes nothing; without --runner Beam is never imported."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from datasets import convert
from tests.datasets.convert_helpers import read_all, run

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(REPO, "download_and_convert_data.py")
NO_BEAM = "apache_beam is not installed (pip install -e '.[beam]')"

try:
  import apache_beam  # noqa: F401
  HAVE_BEAM = True
except ImportError:
  HAVE_BEAM = False

needs_beam = pytest.mark.skipif(not HAVE_BEAM, reason=NO_BEAM)


def _beam_run(dataset_name, dataset_dir, output_dir, mode, workers=2, **kwargs):
  from datasets import beam_convert
  kwargs.setdefault("image_size", 32)
  kwargs.setdefault("num_shards", 2)
  kwargs.setdefault("progress", False)
  config = convert.Config(dataset_name=dataset_name, dataset_dir=str(dataset_dir),
                          output_dir=str(output_dir), **kwargs)
  return beam_convert.run(config, "DirectRunner",
                          ["--direct_running_mode=%s" % mode],
                          direct_num_workers=workers)


def _damage(d):
  """Faults found while scanning (a listed file is gone) and only while
  reading (zero-byte, truncated): both must be reported the same way."""
  stems = sorted(d["images"])
  files = dict(zip(d["images"], d["files"]))
  os.remove(files[stems[0]])
  open(files[stems[1]], "wb").close()
  data = open(files[stems[2]], "rb").read()
  open(files[stems[2]], "wb").write(data[: len(data) // 3])


def _text(path):
  with open(path) as f:
    return f.read()


@needs_beam
def test_beam_direct_runner_matches_local_converter(make_demo, tmp_path):
  d = make_demo("kaggle_dr", num_patients=12, size=48)
  _damage(d)
  local, beam = tmp_path / "local", tmp_path / "beam"
  settings = dict(validation_size=0.2, test_size=0.2, num_shards=2)
  expected = run("kaggle_dr", d["root"], local, **settings)
  # Worker processes: items, prepared images and failures cross processes.
  got = _beam_run("kaggle_dr", d["root"], beam, "multi_processing", **settings)
  assert (got.written, got.skipped) == (expected.written, expected.skipped) == (21, 3)

  info_l, splits_l = read_all(local, "kaggle_dr")
  info_b, splits_b = read_all(beam, "kaggle_dr")
  assert set(splits_b) == set(splits_l) == {"train", "validation", "test"}
  for split in splits_l:
    key = lambda r: r["source_id"]
    mine, theirs = sorted(splits_b[split], key=key), sorted(splits_l[split], key=key)
    assert [(r["source_id"], r["patient_group"], r["label"]) for r in mine] == \
        [(r["source_id"], r["patient_group"], r["label"]) for r in theirs]
    for a, b in zip(mine, theirs):
      np.testing.assert_array_equal(a["image"], b["image"])
  assert info_b.to_json() == info_l.to_json()

  names = sorted(os.listdir(local))
  assert sorted(os.listdir(beam)) == names     # no temp or state files left
  assert len([n for n in names if n.endswith(".tfrecord")]) == 6
  for name in names:
    if name.endswith(".tfrecord") or name in ("labels.txt", "split_manifest.csv",
                                               "dataset_info.json"):
      assert open(beam / name, "rb").read() == open(local / name, "rb").read(), name
  report_l = json.loads(_text(local / "conversion_report.json"))
  report_b = json.loads(_text(beam / "conversion_report.json"))
  assert (report_l.pop("runner"), report_b.pop("runner")) == ("local", "DirectRunner")
  report_l.pop("seconds"), report_b.pop("seconds")
  assert report_b == report_l
  reasons = " | ".join(s["reason"] for s in report_b["skipped_while_reading"])
  assert len(report_b["skipped_while_reading"]) == 2 and "zero-byte" in reasons
  assert "truncated" in reasons and report_b["published"] is True


@needs_beam
def test_beam_strict_publishes_nothing(make_demo, tmp_path):
  d = make_demo("image_folder", class_names=("0", "1"), per_class=3, size=32)
  open(d["files"][0], "wb").write(b"\x89PNG\r\n\x1a\n broken")   # fails when read
  out = tmp_path / "out"
  with pytest.raises(convert.ConversionError, match="--strict.*nothing published"):
    _beam_run("films", d["root"], out, "multi_threading", layout="image_folder",
              strict=True)
  assert os.listdir(out) == ["conversion_report.json"]
  report = json.loads(_text(out / "conversion_report.json"))
  assert report["published"] is False and len(report["skipped_while_reading"]) == 1


@needs_beam
def test_beam_runner_through_the_script(make_demo, tmp_path):
  d = make_demo("flowers", per_class=2, size=32)
  out = str(tmp_path / "out")
  base = [sys.executable, SCRIPT, "--dataset_name", "flowers", "--dataset_dir",
          d["root"], "--output_dir", out, "--record_image_size", "32", "--noprogress"]
  proc = subprocess.run(base + ["--runner", "NoSuchRunner"], cwd=REPO,
                        capture_output=True, text=True, timeout=240)
  errors = [l for l in proc.stderr.splitlines()
            if "download_and_convert_data: error" in l]
  assert proc.returncode == 1 and len(errors) == 1 and "--runner=NoSuchRunner" in errors[0]
  assert not os.path.exists(out)   # refused before anything is written
  # Beam's own options after --, here DirectRunner's running mode
  proc = subprocess.run(base + ["--runner", "DirectRunner", "--direct_num_workers",
                                "2", "--", "--direct_running_mode=multi_threading"],
                        cwd=REPO, capture_output=True, text=True, timeout=240)
  assert proc.returncode == 0, proc.stderr
  assert "wrote 10 images" in proc.stdout
  report = json.loads(_text(os.path.join(out, "conversion_report.json")))
  assert report["runner"] == "DirectRunner" and report["written"] == 10


def test_without_runner_beam_is_not_imported(make_demo, tmp_path):
  d = make_demo("flowers", per_class=2, size=32)
  code = ("import runpy, sys\n"
          "sys.argv = %r\n"
          "try:\n  runpy.run_path(%r, run_name='__main__')\n"
          "except SystemExit as e:\n  assert not e.code, e.code\n"
          "print('BEAM' if 'apache_beam' in sys.modules else 'NO BEAM')\n"
          % ([SCRIPT, "--dataset_name", "flowers", "--dataset_dir", d["root"],
              "--output_dir", str(tmp_path / "out"), "--record_image_size", "32",
              "--num_workers", "1", "--noprogress"], SCRIPT))
  proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                        text=True, timeout=240)
  assert proc.returncode == 0, proc.stderr
  assert proc.stdout.strip().splitlines()[-1] == "NO BEAM"


def test_runner_without_beam_is_one_line_naming_the_extra(monkeypatch):
  monkeypatch.setitem(sys.modules, "apache_beam", None)   # as if not installed
  monkeypatch.delitem(sys.modules, "datasets.beam_convert", raising=False)
  import datasets
  monkeypatch.delattr(datasets, "beam_convert", raising=False)
  with pytest.raises(convert.ConversionError) as err:
    convert.beam_runner("DirectRunner")
  assert "--runner=DirectRunner" in str(err.value) and "'.[beam]'" in str(err.value)
  assert "\n" not in str(err.value)


@needs_beam
def test_beam_writes_schemes_tensorflow_lacks_through_beam(make_demo, tmp_path,
                                                          monkeypatch):
  """s3:// stand-in: the output folder is one TensorFlow refuses and only
  Beam's file systems write (datasets/storage.py), as TF 2.21 does s3://."""
  from datasets import storage
  from tf_compat import tf
  d = make_demo("kaggle_dr", num_patients=4, size=48)
  local, beam = tmp_path / "local", str(tmp_path / "beam")
  run("kaggle_dr", d["root"], local, validation_size=0.25)
  monkeypatch.setattr(storage, "via_beam", lambda path: str(path).startswith(beam))

  def refuse(fn):
    def guarded(path, *args, **kwargs):
      assert not str(path).startswith(beam), "TensorFlow used on %s" % path
      return fn(path, *args, **kwargs)
    return guarded
  for name in ("exists", "isdir", "listdir", "makedirs", "remove", "rmtree",
               "rename", "GFile"):
    monkeypatch.setattr(tf.io.gfile, name, refuse(getattr(tf.io.gfile, name)))
  monkeypatch.setattr(tf.io, "TFRecordWriter", refuse(tf.io.TFRecordWriter))
  _beam_run("kaggle_dr", d["root"], beam, "multi_threading", validation_size=0.25)
  monkeypatch.undo()
  names = sorted(os.listdir(local))
  assert sorted(os.listdir(beam)) == names
  for name in names:
    if name != "conversion_report.json":
      assert open(os.path.join(beam, name), "rb").read() == \
          open(local / name, "rb").read(), name
  with pytest.raises(convert.ConversionError, match="--runner"):
    run("kaggle_dr", d["root"], "s3://bucket/records")   # the local runner can't
