"""scripts/: one bash script per experiment, each runnable in its small mode."""
import concurrent.futures
import glob
import json
import os
import re
import subprocess
import sys
import tarfile

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPTS = sorted(p for p in glob.glob(os.path.join(REPO, "scripts", "*.sh"))
                 if os.path.basename(p) != "common.sh")
FINETUNE = [p for p in SCRIPTS if "finetune_" in os.path.basename(p)]
NAMES = [os.path.basename(p) for p in SCRIPTS]


def _env(tmp_path, **extra):
  env = dict(os.environ)
  env.update({"PYTHON": sys.executable, "WORK_DIR": str(tmp_path / "work"),
              "TF_CPP_MIN_LOG_LEVEL": "2"})
  env.pop("SMALL", None)
  env.update(extra)
  return env


def test_one_script_per_experiment():
  assert set(NAMES) >= {
      "run_demo.sh", "finetune_inception_v3_on_kaggle_dr.sh",
      "finetune_inception_v3_on_kermany_oct.sh",
      "finetune_inception_v3_on_pneumoconiosis.sh",
      "train_inception_v3_from_scratch.sh",
      "train_inception_v3_on_chestxray14.sh"}


@pytest.mark.parametrize("path", SCRIPTS, ids=NAMES)
def test_script_is_tf_slim_style(path):
  text = open(path).read()
  assert text.startswith("#!/bin/bash\n")
  assert os.access(path, os.X_OK)
  assert "set -euo pipefail" in text
  # The settings a user edits are variables near the top.
  for variable in ("TRAIN_DIR=", "DATASET_DIR="):
    assert re.search(r"^%s" % variable, text, re.M), variable
  # convert -> train -> eval, in that order, through common.sh's steps (the
  # distributed script starts its training tasks itself, with TF_CONFIG).
  steps = [re.search(pattern, text, re.M) for pattern in (
      r"^convert_data \\$",
      r"^\s*(train_model \\$|.*/train_image_classifier\.py\" \\$)",
      r"^\s*evaluate_model \\$")]
  assert all(steps), steps
  order = [step.start() for step in steps]
  assert order == sorted(order)
  assert not re.search(r"^[^#\n]*/(download_and_convert_data|eval_image_classifier)"
                       r"\.py", text, re.M)
  if path in FINETUNE:
    assert re.search(r"^PRETRAINED_CHECKPOINT_DIR=", text, re.M)
    assert "--checkpoint_exclude_scopes=InceptionV3/Logits,InceptionV3/AuxLogits" in text
    assert "--trainable_scopes=InceptionV3/Logits,InceptionV3/AuxLogits" in text
  if "pneumoconiosis" in path or "chestxray14" in path:
    assert "--preprocessing_name=\"${PREPROCESSING}\"" in text
    assert re.search(r"^PREPROCESSING=xray$", text, re.M)


def _steps(tmp_path, code, **env):
  """Runs ``code`` after sourcing common.sh, PYTHON printing its arguments."""
  code = ('source "%s/scripts/common.sh"; small_mode; %s' % (REPO, code))
  return subprocess.run(["bash", "-c", code], capture_output=True, text=True,
                        env=_env(tmp_path, PYTHON="echo", **env))


def test_common_steps_pass_the_scripts_flags(tmp_path):
  out = tmp_path / "records"
  convert = 'convert_data --dataset_name=x --dataset_dir=%s --output_dir=%s' % (
      tmp_path, out)
  run = _steps(tmp_path, convert)
  assert run.stdout.split() == ["%s/download_and_convert_data.py" % REPO,
                                "--dataset_name=x", "--dataset_dir=%s" % tmp_path,
                                "--output_dir=%s" % out]
  out.mkdir()
  (out / "dataset_info.json").write_text("{}")
  assert _steps(tmp_path, convert).stdout == "Using converted records in %s\n" % out
  assert "--overwrite" in _steps(tmp_path, convert + " --overwrite").stdout
  # the default --output_dir, <--dataset_dir>/tfrecords
  (tmp_path / "tfrecords").mkdir()
  (tmp_path / "tfrecords" / "dataset_info.json").write_text("{}")
  assert "Using converted" in _steps(
      tmp_path, "convert_data --dataset_dir=%s" % tmp_path).stdout
  # training: the small run's and MIXED_PRECISION's flags after the script's
  train = "train_model --train_dir=t --batch_size=4"
  assert _steps(tmp_path, train).stdout.split()[1:] == [
      "--train_dir=t", "--batch_size=4", "--mixed_precision"]
  assert _steps(tmp_path, train, MIXED_PRECISION="0", SMALL="1").stdout.split()[1:] == [
      "--train_dir=t", "--batch_size=4", "--nosave_graph", "--num_image_summaries=0"]
  # evaluation: the --eval_dir's metrics.json is printed; no --eval_dir, no run
  evaluate = _steps(tmp_path, "evaluate_model --checkpoint_path=c")
  assert evaluate.returncode == 2 and "--eval_dir" in evaluate.stderr
  assert evaluate.stdout == ""


def test_help_and_unknown_argument(tmp_path):
  script = os.path.join(REPO, "scripts", "run_demo.sh")
  shown = subprocess.run(["bash", script, "--help"], capture_output=True,
                         text=True, env=_env(tmp_path))
  assert shown.returncode == 0 and "SMALL=1" in shown.stdout
  bad = subprocess.run(["bash", script, "--fast"], capture_output=True,
                       text=True, env=_env(tmp_path))
  assert bad.returncode == 2 and "--fast" in bad.stderr
  assert not (tmp_path / "work").exists()  # nothing ran


def _ensure_checkpoint(tmp_path, url):
  code = ('source "%s/scripts/common.sh"; SMALL=0; '
          'ensure_checkpoint inception_v3 "%s"' % (REPO, tmp_path / "ckpt"))
  return subprocess.run(["bash", "-c", code], capture_output=True, text=True,
                        env=_env(tmp_path, CHECKPOINT_URL=url))


def test_checkpoint_download_failure_says_how_to_supply_it(tmp_path):
  run = _ensure_checkpoint(tmp_path, "file://%s/missing.tar.gz" % tmp_path)
  assert run.returncode == 1
  assert "Supply it by hand" in run.stderr
  assert "tar -xzf missing.tar.gz -C %s" % (tmp_path / "ckpt") in run.stderr
  assert not glob.glob(str(tmp_path / "ckpt" / "*.part"))


def test_checkpoint_download_unpacks_the_archive(tmp_path):
  payload = tmp_path / "inception_v3.ckpt"
  payload.write_bytes(b"not really weights")
  archive = tmp_path / "inception_v3_2016_08_28.tar.gz"
  with tarfile.open(archive, "w:gz") as tar:
    tar.add(payload, arcname="inception_v3.ckpt")
  run = _ensure_checkpoint(tmp_path, "file://%s" % archive)
  assert run.returncode == 0, run.stderr
  assert (tmp_path / "ckpt" / "inception_v3.ckpt").read_bytes() == b"not really weights"
  assert not (tmp_path / "ckpt" / archive.name).exists()  # archive removed
  again = _ensure_checkpoint(tmp_path, "file://%s/gone.tar.gz" % tmp_path)
  assert again.returncode == 0 and "Using checkpoint" in again.stdout


def _run_script(path, work_dir, standin_dir):
  env = _env(work_dir, STANDIN_CHECKPOINT_DIR=standin_dir)
  return subprocess.run(["bash", path, "--small"], capture_output=True,
                        text=True, timeout=900, env=env)


@pytest.fixture(scope="module")
def small_runs(request, tmp_path_factory):
  """Starts the selected scripts' small runs, two at a time (2 cores; much of
  each run is single-threaded start-up). Under pytest-xdist each test runs
  its own script instead. Returns {path: Future or None}."""
  standin_dir = str(tmp_path_factory.mktemp("standin_checkpoint"))
  # One stand-in for every fine-tune script, written before they start.
  subprocess.run([sys.executable, "-m", "nets.checkpoints", "inception_v3",
                  os.path.join(standin_dir, "inception_v3.ckpt"), "", "0.1",
                  "107"], check=True, cwd=REPO, capture_output=True)
  selected = [item.callspec.params["path"] for item in request.session.items
              if getattr(item, "originalname", "") == "test_script_runs_in_small_mode"]
  runs = {"standin_dir": standin_dir}
  if "PYTEST_XDIST_WORKER" in os.environ:
    yield runs
    return
  pool = concurrent.futures.ThreadPoolExecutor(max_workers=2)
  for path in selected:
    work = tmp_path_factory.mktemp(os.path.basename(path)[:-3])
    runs[path] = pool.submit(_run_script, path, work, standin_dir)
  yield runs
  pool.shutdown(wait=True)


@pytest.mark.slow
@pytest.mark.parametrize("path", SCRIPTS, ids=NAMES)
def test_script_runs_in_small_mode(path, tmp_path, small_runs):
  standin_dir = small_runs["standin_dir"]
  if path in small_runs:
    run = small_runs[path].result()
  else:
    run = _run_script(path, tmp_path, standin_dir)
  assert run.returncode == 0, (run.stdout[-3000:] + run.stderr[-5000:])
  results = [l for l in run.stdout.splitlines() if l.startswith("RESULT ")]
  assert results, run.stdout[-3000:]
  metrics_path = results[-1].split()[1].rstrip(":")
  with open(metrics_path) as f:
    metrics = json.load(f)
  assert metrics["num_examples"] > 0
  if "chestxray14" in path:
    assert metrics["task"] == "multilabel"
  else:
    assert 0.0 <= metrics["accuracy"] <= 1.0
  if path in FINETUNE or "chestxray14" in path:
    # Small mode never downloads: it uses the stand-in checkpoint.
    assert "Using checkpoint %s" % standin_dir in run.stdout
    assert "Downloading" not in run.stdout
