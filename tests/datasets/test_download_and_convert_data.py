"""The script as users run it: the seed commands verbatim, one-line errors with
a non-zero exit, and recovery after the converter is killed mid-run."""
import os
import signal
import subprocess
import sys
import time

import pytest

from datasets import dataset_info
from tests.datasets.convert_helpers import read_all

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(REPO, "download_and_convert_data.py")

pytestmark = pytest.mark.slow


def _run(*args, **kwargs):
  return subprocess.run([sys.executable, SCRIPT] + list(args), cwd=REPO,
                        capture_output=True, text=True, timeout=240, **kwargs)


def test_seed_commands_verbatim(make_demo):
  d = make_demo("kaggle_dr", num_patients=6, size=48)
  proc = _run("--dataset_name", "kaggle_dr", "--dataset_dir", d["root"])
  assert proc.returncode == 0, proc.stderr
  out = os.path.join(d["root"], "tfrecords")
  info, splits = read_all(out, "kaggle_dr")
  assert set(splits) == {"train", "validation"} and info.image_size == 299
  assert sum(len(v) for v in splits.values()) == 12
  summary = [l for l in proc.stdout.splitlines() if l.strip()]
  assert len(summary) == 1 and "wrote 12 images" in summary[0]
  assert "img/s" in proc.stderr   # tqdm progress with a rate

  d2 = make_demo("kaggle_dr", num_patients=6, size=48)
  proc = _run("--dataset_name", "kaggle_dr", "--dataset_dir", d2["root"],
              "--validation_size", "0.2", "--num_shards", "4", "--random_seed", "0")
  assert proc.returncode == 0, proc.stderr
  info = dataset_info.read(os.path.join(d2["root"], "tfrecords"))
  assert info.splits["train"].num_shards == 4
  assert info.splits["validation"].num_examples >= 2


def test_errors_are_one_line_with_nonzero_exit(tmp_path, make_demo):
  proc = _run("--dataset_name", "kaggle_dr", "--dataset_dir", str(tmp_path / "nope"))
  assert proc.returncode == 1
  errors = [l for l in proc.stderr.splitlines() if "download_and_convert_data: error" in l]
  assert len(errors) == 1 and "--dataset_dir" in errors[0]
  # a layout's old name: the new one
  proc = _run("--dataset_name", "diabetic", "--dataset_dir", str(tmp_path))
  assert proc.returncode == 1
  assert proc.stderr.strip().splitlines() == [
      "download_and_convert_data: error: --dataset_name=diabetic is now called "
      "kaggle_dr: pass --dataset_name=kaggle_dr"]
  # the flag's old name (export_inference_graph.py's --image_size is the net's
  # input), or any flag absl cannot parse: one line naming the fix
  for old in (["--image_size", "64"], ["--image_size=64"], ["-image_size=64"]):
    proc = _run("--dataset_name", "kaggle_dr", "--dataset_dir", str(tmp_path), *old)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "download_and_convert_data: error: --image_size is now --record_image_size "
        "(the stored image size): pass --record_image_size"]
  proc = _run("--dataset_name", "kaggle_dr", "--record_image_size=big")
  assert proc.returncode == 1 and len(proc.stderr.strip().splitlines()) == 1
  assert proc.stderr.startswith("download_and_convert_data: error: ")
  assert "--record_image_size" in proc.stderr and "--helpshort" in proc.stderr
  # existing output is refused with the fix named
  d = make_demo("image_folder", class_names=("0", "1"), per_class=2)
  os.makedirs(os.path.join(d["root"], "tfrecords"))
  open(os.path.join(d["root"], "tfrecords", "dataset_info.json"), "w").write("{}")
  proc = _run("--dataset_name", "image_folder", "--dataset_dir", d["root"])
  assert proc.returncode == 1 and "--overwrite" in proc.stderr


def test_killed_run_resumes_without_loss_or_duplicates(make_demo, tmp_path):
  d = make_demo("flowers", per_class=40, size=96)
  out = str(tmp_path / "out")
  args = ["--dataset_name", "flowers", "--dataset_dir", d["root"], "--output_dir",
          out, "--num_shards", "25", "--num_workers", "1", "--record_image_size", "64",
          "--validation_size", "0.2"]
  proc = subprocess.Popen([sys.executable, SCRIPT] + args, cwd=REPO,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  deadline = time.time() + 180
  finished = []
  while time.time() < deadline and proc.poll() is None:
    if os.path.isdir(out):
      finished = [n for n in os.listdir(out) if n.endswith(".tfrecord")]
      if finished:
        break
    time.sleep(0.005)
  proc.send_signal(signal.SIGKILL)
  proc.wait()
  assert proc.returncode == -signal.SIGKILL, "converter finished before the kill"
  names = os.listdir(out)
  done = [n for n in names if n.endswith(".tfrecord")]
  assert 1 <= len(done) < 50 and "dataset_info.json" not in names
  mtimes = {n: os.path.getmtime(os.path.join(out, n)) for n in done}

  proc = _run(*args)
  assert proc.returncode == 0, proc.stderr
  names = os.listdir(out)
  assert not [n for n in names if n.endswith(".partial")] and ".conversion" not in names
  for n, t in mtimes.items():   # finished shards were kept, not rewritten
    assert os.path.getmtime(os.path.join(out, n)) == t
  info, splits = read_all(out, "flowers")
  ids = [r["source_id"] for rs in splits.values() for r in rs]
  assert len(ids) == len(set(ids)) == 200
  flower_photos = os.path.join(d["root"], "flower_photos")
  expected = {os.path.relpath(f, flower_photos).replace(os.sep, "/") for f in d["files"]}
  assert set(ids) == expected
  assert sum(s.num_shards for s in info.splits.values()) == 50


def test_strict_modality_and_patients_file_flags(make_demo, tmp_path):
  d = make_demo("image_folder", class_names=("0", "1"), per_class=3, size=32)
  open(d["files"][0], "wb").write(b"\x89PNG\r\n\x1a\n broken")     # fails when read
  out = str(tmp_path / "out")
  args = ["--dataset_name", "films", "--layout", "image_folder", "--dataset_dir",
          d["root"], "--output_dir", out, "--record_image_size", "32", "--num_workers", "1"]
  proc = _run(*(args + ["--strict"]))
  assert proc.returncode == 1
  errors = [l for l in proc.stderr.splitlines() if "download_and_convert_data: error" in l]
  assert len(errors) == 1 and "--strict" in errors[0] and "nothing published" in errors[0]
  assert os.listdir(out) == ["conversion_report.json"]
  rel = [os.path.relpath(f, d["root"]) for f in d["files"]]
  with open(tmp_path / "patients.csv", "w") as f:
    f.write("file,patient\n" + "".join("%s,P1\n" % r for r in rel[1:]))
  proc = _run(*(args + ["--overwrite", "--modality", "fundus", "--patients_file",
                        str(tmp_path / "patients.csv")]))
  assert proc.returncode == 0, proc.stderr
  info = dataset_info.read(out)
  assert info.modality == "fundus"
  assert sum(s.num_patients for s in info.splits.values()) == 1   # all one patient
