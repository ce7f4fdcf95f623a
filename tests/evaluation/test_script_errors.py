"""User mistakes in the top-level scripts: exit status 1, ONE stderr line
'<script>: error: <message naming the flag>', no Python traceback (cli.run).

Data as users have it: class folders abnormal/ and normal/ converted to
train + validation (no test split), a train_dir with a checkpoint."""
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _run(script, *args):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
  return subprocess.run([sys.executable, script] + list(args), cwd=REPO, env=env,
                        capture_output=True, text=True, timeout=300)


def _cases(data, tmp):
  first_film = data["validation"][0][0]
  return {
      # eval's default --dataset_split_name is test; this conversion has none
      "eval_default_split": (
          "eval_image_classifier.py",
          ["--checkpoint_path=%s" % data["train_dir"], "--dataset_dir=%s" % data["dir"]],
          "--dataset_split_name=test: %s has no 'test' split; it has: train, "
          "validation" % data["dir"]),
      "eval_bad_positive_class": (
          "eval_image_classifier.py",
          ["--checkpoint_path=%s" % data["train_dir"], "--dataset_dir=%s" % data["dir"],
           "--dataset_split_name=validation", "--positive_class=pneumonia"],
          "--positive_class=pneumonia names no class; the classes are: "
          "abnormal (0), normal (1)"),
      "eval_missing_checkpoint_dir": (
          "eval_image_classifier.py",
          ["--checkpoint_path=%s" % os.path.join(tmp, "no_train_dir"),
           "--dataset_dir=%s" % data["dir"], "--dataset_split_name=validation"],
          "--checkpoint_path="),
      "train_missing_split": (
          "train_image_classifier.py",
          ["--train_dir=%s" % os.path.join(tmp, "train"), "--dataset_dir=%s" % data["dir"],
           "--dataset_split_name=test"],
          "--dataset_split_name=test: %s has no 'test' split" % data["dir"]),
      "predict_dataset_dir_without_info": (
          "predict_image_classifier.py",
          ["--checkpoint_path=%s" % data["train_dir"], "--dataset_dir=%s" % tmp,
           "--input=%s" % first_film, "--output=%s" % os.path.join(tmp, "p.csv")],
          "--dataset_dir=%s: no dataset_info.json" % tmp),
      "export_missing_checkpoint": (
          "export_inference_graph.py",
          ["--checkpoint_path=%s" % os.path.join(tmp, "model.ckpt-9"),
           "--dataset_dir=%s" % data["dir"], "--output_dir=%s" % os.path.join(tmp, "x")],
          "--checkpoint_path="),
      "visualize_bad_class_name": (
          "visualize_image_classifier.py",
          ["--checkpoint_path=%s" % data["train_dir"], "--dataset_dir=%s" % data["dir"],
           "--input=%s" % first_film, "--output_dir=%s" % os.path.join(tmp, "cam"),
           "--class_name=pneumonia"],
          "--class_name=pneumonia"),
  }


CASES = ["eval_default_split", "eval_bad_positive_class",
         "eval_missing_checkpoint_dir", "train_missing_split",
         "predict_dataset_dir_without_info", "export_missing_checkpoint",
         "visualize_bad_class_name"]


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES)
def test_user_mistake_is_one_line_naming_the_flag(case, xray_binary, tmp_path):
  script, args, expected = _cases(xray_binary, str(tmp_path))[case]
  proc = _run(script, *args)
  assert proc.returncode == 1, proc.stderr[-3000:]
  assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
  name = script[:-3]
  errors = [l for l in proc.stderr.splitlines() if l.startswith(name + ": error: ")]
  assert len(errors) == 1, proc.stderr[-3000:]
  assert expected in errors[0], errors[0]
