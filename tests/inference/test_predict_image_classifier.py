"""predict_image_classifier.py / inference.predict and export_inference_graph.py:
raw files give the probabilities eval gives their records; the SavedModel
gives predict's."""
import csv
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from datasets import dataset_factory
from evaluation import evaluate
from inference import export, predict

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEPTH = 0.1


@pytest.fixture(scope="module")
def eval_probs(dr_dataset, dr_checkpoints):
  """{source_id: probabilities} from the eval pipeline (records)."""
  split = dataset_factory.get_split("kaggle_dr", "validation", dr_dataset["dir"])
  options = evaluate.EvalOptions(checkpoint_path=dr_checkpoints["paths"][1],
                                 dataset_dir=dr_dataset["dir"])
  evaluator = evaluate.Evaluator(split, evaluate.model_config(options, split),
                                 batch_size=10, progress=False)
  try:
    out = evaluator.predict(dr_checkpoints["paths"][1])
  finally:
    evaluator.close()
  return dict(zip(out.source_ids, out.probabilities))


@pytest.fixture(scope="module")
def raw_copy(dr_dataset, tmp_path_factory):
  """The validation eyes' raw JPEGs in <tmp>/train/, a Kaggle-style CSV of
  stems next to it (one stem missing), and a broken file."""
  root = tmp_path_factory.mktemp("raw_copy")
  (root / "train").mkdir()
  stems = []
  for path, _, _ in dr_dataset["rows"]:
    shutil.copy(path, root / "train")
    stems.append(os.path.splitext(os.path.basename(path))[0])
  (root / "train" / "99999_left.jpeg").write_bytes(b"")          # zero bytes
  (root / "train" / "notes.txt").write_text("not an image")     # ignored
  with open(root / "list.csv", "w") as f:
    f.write("image,level\n" + "".join("%s,0\n" % s for s in stems) + "missing_eye,0\n")
  return {"root": root, "stems": stems}


@pytest.fixture(scope="module")
def predicted(raw_copy, dr_dataset, dr_checkpoints, tmp_path_factory):
  out = tmp_path_factory.mktemp("predict") / "top3.csv"
  ids, probs, failures = predict.run(predict.PredictOptions(
      checkpoint_path=dr_checkpoints["dir"],
      input=str(raw_copy["root"] / "list.csv"), output=str(out),
      dataset_dir=dr_dataset["dir"], top_k=3, batch_size=8, progress=False))
  return {"ids": ids, "probs": probs, "failures": failures, "output": out}


def test_predict_equals_eval_on_the_same_images(predicted, eval_probs):
  assert sorted(predicted["ids"]) == sorted(eval_probs)
  for i, p in zip(predicted["ids"], predicted["probs"]):
    np.testing.assert_allclose(p, eval_probs[i], rtol=0, atol=1e-5, err_msg=i)


def test_csv_output_lists_top_k_classes_and_missing_entries(predicted):
  rows = list(csv.reader(open(predicted["output"])))
  assert rows[0] == ["id", "class_1", "probability_1", "class_2", "probability_2",
                     "class_3", "probability_3"]
  assert len(rows) == 1 + 23
  by_id = dict(zip(predicted["ids"], predicted["probs"]))
  for row in rows[1:]:
    p = by_id[row[0]]
    order = np.argsort(-p, kind="stable")[:3]
    assert row[1::2] == [str(c) for c in order]
    assert [float(v) for v in row[2::2]] == pytest.approx(p[order], abs=1e-6)
  assert [f.path for f in predicted["failures"]] == ["missing_eye"]
  listed = list(csv.DictReader(open(predict.failures_path(str(predicted["output"])))))
  assert listed[0]["path"] == "missing_eye" and "not found" in listed[0]["reason"]


@pytest.mark.slow
def test_kaggle_submission_format_and_unreadable_files(raw_copy, dr_dataset,
                                                       dr_checkpoints, eval_probs,
                                                       tmp_path):
  out = tmp_path / "submission.csv"
  cmd = [sys.executable, "predict_image_classifier.py",
         "--checkpoint_path=%s" % dr_checkpoints["dir"], "--model_name=inception_v3",
         "--dataset_dir=%s" % dr_dataset["dir"],
         "--input=%s" % (raw_copy["root"] / "train"), "--output=%s" % out,
         "--output_format=kaggle", "--batch_size=16"]
  proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
  assert proc.returncode == 0, proc.stderr[-3000:]
  lines = out.read_text().split("\n")
  assert lines[0] == "image,level" and lines[-1] == ""
  body = lines[1:-1]
  assert len(body) == 23
  for line in body:
    assert re.fullmatch(r"\d+_(left|right),[0-4]", line), line
    image, level = line.split(",")
    assert int(level) == int(np.argmax(eval_probs[image]))
  failures = list(csv.DictReader(open(predict.failures_path(str(out)))))
  assert len(failures) == 1 and failures[0]["path"].endswith("99999_left.jpeg")
  assert "zero-byte" in failures[0]["reason"]


@pytest.mark.slow
def test_saved_model_outputs_equal_predict(predicted, raw_copy, dr_dataset,
                                           dr_checkpoints, tmp_path):
  export_dir = tmp_path / "export"
  graph_file = tmp_path / "inception_v3_inf_graph.pb"
  cmd = [sys.executable, "export_inference_graph.py",
         "--checkpoint_path=%s" % dr_checkpoints["dir"], "--model_name=inception_v3",
         "--dataset_dir=%s" % dr_dataset["dir"], "--output_dir=%s" % export_dir,
         "--output_file=%s" % graph_file]
  proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert (export_dir / "assets.extra" / "labels.txt").read_text().startswith("0:0\n")
  prepared = export.load_saved_model(str(export_dir), export.PREPARED_SIGNATURE_KEY)
  preprocessing = dr_dataset["info"].preprocessing
  ids = predicted["ids"][:6]
  files = [str(raw_copy["root"] / "train" / (i + ".jpeg")) for i in ids]
  encoded = [predict.prepare(path, preprocessing) for path in files]
  np.testing.assert_allclose(prepared(encoded), predicted["probs"][:6], rtol=0,
                             atol=1e-6)
  # serving_default: the client's original JPEGs (border crop, pad, resize in
  # the graph) agree with predict to within resampling differences
  original = export.load_saved_model(str(export_dir))
  served = original([open(path, "rb").read() for path in files])
  np.testing.assert_allclose(served, predicted["probs"][:6], rtol=0, atol=0.02)
  readme = (export_dir / "assets.extra" / "README.txt").read_text()
  assert "crop black borders" in readme and "DICOM" in readme
  assert "- precision: float32 graph and weights; float32 compute" in readme
  # TF-Slim's GraphDef: an 'input' placeholder of the net's size, no weights
  from tf_compat import tf
  graph_def = tf.compat.v1.GraphDef()
  graph_def.ParseFromString(graph_file.read_bytes())
  nodes = {n.name: n for n in graph_def.node}
  assert nodes["input"].op == "Placeholder"
  assert [d.size for d in nodes["input"].attr["shape"].shape.dim] == [-1, 80, 80, 3]
  assert "probabilities" in nodes


def test_list_inputs_folder_csv_glob_and_dicom(raw_copy, demo_dicom):
  items, failures = predict.list_inputs(str(raw_copy["root"] / "train"))
  assert len(items) == 24 and not failures          # .txt ignored
  assert {"99999_left"} | set(raw_copy["stems"]) == {i.id for i in items}
  items, _ = predict.list_inputs(str(raw_copy["root"] / "train" / "*_left.jpeg"))
  assert items and all(i.id.endswith("_left") for i in items)
  dicoms, _ = predict.list_inputs(demo_dicom["root"])
  assert sorted(i.path for i in dicoms) == sorted(demo_dicom["files"])
  with pytest.raises(FileNotFoundError, match="does not exist"):
    predict.list_inputs(str(raw_copy["root"] / "nope"))


def test_kaggle_rows_format_exactly():
  text = predict.format_rows(["44342_left", "44342_right"],
                             np.array([[0.9, 0.05, 0.05, 0, 0], [0.1, 0.1, 0.7, 0.1, 0]]),
                             list("01234"), output_format="kaggle")
  assert text == "image,level\n44342_left,0\n44342_right,2\n"
