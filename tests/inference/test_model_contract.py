"""One model contract: a net trained with non-default input options gives the
same probabilities through every consumer (eval's predictions.csv, predict,
the exported SavedModel's two signatures, Grad-CAM), because each builds from
the model_spec.json training wrote. A consumer that ignores the spec (the
old behaviour: options dropped) gives other numbers, which the test shows.

Data as users have it: class folders that repeat the same file names, RGB
PNGs; two images of a class differ only by a brightness offset. Training uses
--per_image_standardization and --use_grayscale (both change eval-time
preprocessing), the default preset (recorded modality: natural -> TF-Slim's
inception, with its 0.875 central crop), --train_image_size and
--depth_multiplier.
"""
import csv
import os

import numpy as np
import pytest
from PIL import Image

from datasets import convert
from evaluation import evaluate
from inference import export, gradcam, predict
from inference import model as model_lib
from nets import model_spec
from training import train

pytestmark = pytest.mark.slow

SIZE = 48          # stored and raw size: conversion does not resample
NET = 107          # smallest InceptionV3 input with its AuxLogits head
DM = 0.1
OFFSET = 51        # 0.2 on the [0, 1] scale, exact in 8 bits


def _image(rng, label):
  """RGB in [0.2, 0.5] (no clipping after the offset) with a class marker."""
  base = rng.uniform(0.2, 0.35, (SIZE, SIZE, 1)) * np.array([1.0, 0.9, 0.8])
  q = SIZE // 4
  y, x = (q, q) if label == 0 else (SIZE - 2 * q, SIZE - 2 * q)
  base[y:y + q, x:x + q] = 0.5
  return np.round(base * 255).astype(np.uint8)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
  root = tmp_path_factory.mktemp("contract")
  raw = root / "raw"
  rng = np.random.default_rng(0)
  for label, name in enumerate(["normal", "opacity"]):
    folder = raw / name
    folder.mkdir(parents=True)
    for i in range(1, 9):                       # 1.png .. 8.png in every class
      array = _image(rng, label)
      Image.fromarray(array).save(folder / ("%d.png" % i))
      if i == 1:                                # the same film, brighter
        Image.fromarray(array + OFFSET).save(folder / "1_bright.png")
  records = root / "records"
  convert.run(convert.Config(dataset_name="films", layout="image_folder",
                             dataset_dir=str(raw), output_dir=str(records),
                             image_size=SIZE, validation_size=0.5, num_shards=1,
                             num_workers=1, progress=False))
  train_dir = root / "train"
  train.build_and_train(train.TrainConfig(
      train_dir=str(train_dir), dataset_dir=str(records),
      preprocessing_options={"per_image_standardization": True,
                             "grayscale": True},
      depth_multiplier=DM, train_image_size=NET, batch_size=4,
      max_number_of_steps=2, num_readers=1, num_preprocessing_threads=1,
      save_graph=False, num_image_summaries=2, seed=0))
  return {"root": root, "raw": raw, "records": str(records),
          "train_dir": str(train_dir)}


def _eval_predictions(trained, split):
  eval_dir = trained["root"] / ("eval_" + split)
  evaluate.run(evaluate.EvalOptions(
      checkpoint_path=trained["train_dir"], dataset_dir=trained["records"],
      dataset_split_name=split, eval_dir=str(eval_dir), batch_size=4,
      num_preprocessing_threads=1, progress=False))
  with open(eval_dir / "predictions.csv") as f:
    rows = list(csv.DictReader(f))
  return rows


def test_spec_records_every_resolved_input_option(trained):
  spec = model_spec.read(trained["train_dir"])
  assert spec.preprocessing_name == "inception"        # modality natural
  assert spec.preprocessing_options["per_image_standardization"] is True
  assert spec.preprocessing_options["grayscale"] is True
  assert spec.preprocessing_options["central_fraction"] == 0.875
  assert (spec.image_size, spec.depth_multiplier) == (NET, DM)
  assert spec.class_names == ["normal", "opacity"]
  assert spec.imaging["image_size"] == SIZE and spec.imaging["resize"] == "pad"


def test_every_consumer_gives_the_same_probabilities(trained, tmp_path):
  spec = model_spec.read(trained["train_dir"])
  # eval: every record of both splits, by source id
  by_id = {}
  for split in ("train", "validation"):
    for row in _eval_predictions(trained, split):
      by_id[row["source_id"]] = np.array(
          [float(row["p_%s" % name]) for name in spec.class_names])
  # predict on the raw class folders
  out = tmp_path / "predicted.csv"
  ids, probs, failures = predict.run(predict.PredictOptions(
      checkpoint_path=trained["train_dir"], input=str(trained["raw"]),
      output=str(out), progress=False))
  assert not failures and len(ids) == len(by_id) == 18
  predicted = dict(zip(ids, probs))
  files = {i: os.path.join(str(trained["raw"]), i + ".png") for i in ids}
  # record source ids are the paths below the raw folder ("normal/1.png")
  assert {os.path.splitext(k)[0] for k in by_id} == set(ids)
  for source_id, p in by_id.items():
    np.testing.assert_allclose(predicted[os.path.splitext(source_id)[0]], p,
                               atol=1e-5, err_msg=source_id)
  # export: original bytes (prepared in the graph) and prepared bytes
  export_dir = tmp_path / "export"
  checkpoint = model_lib.tf.train.latest_checkpoint(trained["train_dir"])
  export.export_saved_model(spec, checkpoint, str(export_dir))
  original = export.load_saved_model(str(export_dir))
  prepared = export.load_saved_model(str(export_dir), export.PREPARED_SIGNATURE_KEY)
  raw_bytes = [open(files[i], "rb").read() for i in ids]
  prepared_bytes = [predict.prepare(files[i], spec.imaging) for i in ids]
  np.testing.assert_allclose(prepared(prepared_bytes), probs, atol=1e-5)
  np.testing.assert_allclose(original(raw_bytes), probs, atol=1e-5)
  # Grad-CAM's forward pass is the same model
  explainer = gradcam.Explainer(spec, checkpoint)
  try:
    explained = explainer.explain(prepared_bytes[:3])
  finally:
    explainer.close()
  for explanation, p in zip(explained, probs[:3]):
    np.testing.assert_allclose(explanation.probabilities, p, atol=1e-5)

  # A consumer that does not read the spec's options sees other numbers.
  for wrong in (spec.replace(preprocessing_options={}),
                spec.replace(preprocessing_options=dict(
                    spec.preprocessing_options, per_image_standardization=False))):
    graph = model_lib.InferenceGraph(wrong, checkpoint)
    try:
      other = graph.run(graph.probabilities, prepared_bytes)
    finally:
      graph.close()
    assert np.abs(other - probs).max() > 1e-3


def test_brightness_offset_is_invisible_to_every_consumer(trained, tmp_path):
  """Trained with per-image standardization, a film and the same film 0.2
  brighter are the same input: identical probabilities everywhere."""
  spec = model_spec.read(trained["train_dir"])
  checkpoint = model_lib.tf.train.latest_checkpoint(trained["train_dir"])
  pairs = [(os.path.join(str(trained["raw"]), c, "1.png"),
            os.path.join(str(trained["raw"]), c, "1_bright.png"))
           for c in spec.class_names]
  ids, probs, _ = predict.run(predict.PredictOptions(
      checkpoint_path=trained["train_dir"], input=str(trained["raw"]),
      output=str(tmp_path / "p.csv"), progress=False))
  by_id = dict(zip(ids, probs))
  export_dir = tmp_path / "export"
  export.export_saved_model(spec, checkpoint, str(export_dir))
  original = export.load_saved_model(str(export_dir))
  no_spec = model_lib.InferenceGraph(spec.replace(preprocessing_options={}),
                                     checkpoint)
  try:
    for plain, bright in pairs:
      rel = lambda p: os.path.relpath(p, str(trained["raw"]))[:-4]
      np.testing.assert_allclose(by_id[rel(plain)], by_id[rel(bright)], atol=1e-5)
      served = original([open(plain, "rb").read(), open(bright, "rb").read()])
      np.testing.assert_allclose(served[0], served[1], atol=1e-5)
      # without the recorded standardization the offset changes the output
      ignored = no_spec.run(no_spec.probabilities,
                            [predict.prepare(p, spec.imaging) for p in (plain, bright)])
      assert np.abs(ignored[0] - ignored[1]).max() > 1e-4
  finally:
    no_spec.close()
  # eval: the two records of each pair (in whichever split they fell)
  rows = {}
  for split in ("train", "validation"):
    for row in _eval_predictions(trained, split):
      rows[row["source_id"]] = [float(row["p_%s" % n]) for n in spec.class_names]
  for c in spec.class_names:
    np.testing.assert_allclose(rows[c + "/1.png"], rows[c + "/1_bright.png"],
                               atol=1e-5)
