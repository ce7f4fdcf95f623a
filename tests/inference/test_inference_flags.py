"""The inference scripts (eval, predict, visualize, export): every flag each
script defines changes what the script hands its package, and the model flags
reach the model only when given.

``CHANGES[script]`` gives each flag a changed value (command-line text;
{name} = a fixture path) and the level at which the change must show. Each
table must name exactly the flags its script defines, so a new flag without
an entry fails. Every command is the script's BASE command plus the changed
flag, compared with the BASE command alone:

  OPTIONS  the Options dataclass the script's main passes to its package call
           (evaluate.run, predict.run, gradcam.run, export.run), which is
           replaced by a recorder: nothing is evaluated, predicted or exported
  SPEC     model_spec.for_inference of those options: the model the package
           uses, or its refusal of a model flag that contradicts training

The BASE commands point --checkpoint_path at a train_dir whose model_spec.json
says tiny_cnn (trained), so a model flag that reached the model although the
user did not give it (e.g. --model_name's default inception_v3) would show
as a refusal of the BASE command. Each script runs in its own process
(tests/inference/script_options.py): their flags would clash in one absl FLAGS.
"""
import dataclasses
import json
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

OPTIONS, SPEC = "options", "spec"


@dataclasses.dataclass(frozen=True)
class Change:
  value: str       # command-line text; {name} = a fixture path
  level: str


C = Change

# Every inference script's: --checkpoint_path, --master and the model flags.
SHARED = {
    "checkpoint_path": C("{other_train_dir}", SPEC),   # another model
    "master": C("grpc://localhost:2222", OPTIONS),
    # A model flag that disagrees with model_spec.json is refused ...
    "model_name": C("inception_v3", SPEC),
    "preprocessing_name": C("xray", SPEC),
    "depth_multiplier": C("0.5", SPEC),
    "labels_offset": C("1", SPEC),
    # ... and these two are inference's choices.
    "moving_average_decay": C("0.99", SPEC),
    "mixed_precision": C("true", SPEC),
}
EVAL_IMAGE_SIZE = {"eval_image_size": C("24", SPEC)}

CHANGES = {
    "eval_image_classifier": dict(
        SHARED, **EVAL_IMAGE_SIZE,
        dataset_dir=C("{elsewhere}", OPTIONS),
        dataset_name=C("other", OPTIONS),
        dataset_split_name=C("validation", OPTIONS),
        eval_dir=C("{elsewhere}/eval", OPTIONS),
        batch_size=C("7", OPTIONS),
        max_num_batches=C("2", OPTIONS),
        num_preprocessing_threads=C("1", OPTIONS),
        eval_interval_secs=C("5", OPTIONS),
        timeout=C("30", OPTIONS),
        all_checkpoints=C("true", OPTIONS),
        select_by=C("auc", OPTIONS),
        bootstrap=C("10", OPTIONS),
        threshold=C("0.3", OPTIONS),
        positive_class=C("b", OPTIONS),
        top_k=C("2", OPTIONS)),
    "predict_image_classifier": dict(
        SHARED, **EVAL_IMAGE_SIZE,
        dataset_dir=C("{elsewhere}", OPTIONS),
        input=C("{elsewhere}/other.png", OPTIONS),
        output=C("{elsewhere}/other.csv", OPTIONS),
        output_format=C("kaggle", OPTIONS),
        top_k=C("2", OPTIONS),
        batch_size=C("7", OPTIONS),
        threshold=C("0.3", OPTIONS),
        positive_class=C("b", OPTIONS)),
    "visualize_image_classifier": dict(
        SHARED, **EVAL_IMAGE_SIZE,
        dataset_dir=C("{elsewhere}", OPTIONS),
        input=C("{elsewhere}/other.png", OPTIONS),
        output_dir=C("{elsewhere}/other_cam", OPTIONS),
        class_name=C("b", OPTIONS),
        layer=C("Conv2d_1a_3x3", OPTIONS),
        guided_backprop=C("true", OPTIONS)),
    "export_inference_graph": dict(
        SHARED,
        image_size=C("24", SPEC),                    # TF-Slim's name here
        dataset_dir=C("{elsewhere}", OPTIONS),
        output_dir=C("{elsewhere}/other_export", OPTIONS),
        output_file=C("{elsewhere}/graph.pb", OPTIONS),
        batch_size=C("1", OPTIONS)),
}

BASE = {
    "eval_image_classifier": ["--checkpoint_path={train_dir}",
                              "--dataset_dir={data}"],
    "predict_image_classifier": ["--checkpoint_path={train_dir}",
                                 "--input={elsewhere}/film.png"],
    "visualize_image_classifier": ["--checkpoint_path={train_dir}",
                                   "--input={elsewhere}/film.png",
                                   "--output_dir={elsewhere}/cam"],
    "export_inference_graph": ["--checkpoint_path={train_dir}",
                               "--output_dir={elsewhere}/export"],
}
SCRIPTS = sorted(CHANGES)


def _commands(script):
  """The BASE command, then one per flag of the table (sorted by name)."""
  base = BASE[script]
  return [base] + [base + ["--%s=%s" % (name, change.value)]
                   for name, change in sorted(CHANGES[script].items())]


@pytest.fixture(scope="module")
def paths(tmp_path_factory):
  from datasets import dataset_info
  from nets import model_spec
  root = tmp_path_factory.mktemp("inference_flags")
  out = {"elsewhere": str(root / "elsewhere"), "data": str(root / "data")}
  for name, classes in (("train_dir", ["a", "b", "c"]),
                        ("other_train_dir", ["a", "b", "c", "d"])):
    info = dataset_info.DatasetInfo(name="tiny", class_names=classes, splits={})
    out[name] = str(root / name)
    os.makedirs(out[name])
    spec = model_spec.build("tiny_cnn", info)
    model_spec.write(spec, out[name])
    out[name + "_spec"] = json.loads(spec.to_json())
  return out


@pytest.fixture(scope="module")
def observed(paths, tmp_path_factory):
  """script -> what script_options.py saw for _commands(script), run once."""
  root = tmp_path_factory.mktemp("observed")
  cache = {}

  def observe(script):
    if script not in cache:
      request, reply = root / (script + ".json"), root / (script + "_reply.json")
      commands = [[a.format(**paths) for a in c] for c in _commands(script)]
      request.write_text(json.dumps({"script": script, "commands": commands}))
      env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
      proc = subprocess.run(
          [sys.executable, "-m", "tests.inference.script_options",
           str(request), str(reply)], cwd=REPO, env=env, capture_output=True,
          text=True, timeout=300)
      assert proc.returncode == 0, proc.stderr[-3000:]
      cache[script] = json.loads(reply.read_text())
    return cache[script]

  return observe


@pytest.mark.parametrize("script", SCRIPTS)
def test_the_table_names_every_flag_of_the_script_exactly(script, observed):
  assert sorted(CHANGES[script]) == observed(script)["flags"], (
      "CHANGES[%r] must name exactly the flags the script defines, listed "
      "under it or inference_flags in --helpfull: give a new flag an entry"
      % script)


@pytest.mark.parametrize("script", SCRIPTS)
def test_unset_model_flags_leave_the_trained_model(script, observed, paths):
  base = observed(script)["results"][0]
  assert base["options"]["model_overrides"] == {}
  assert base["spec"] == paths["train_dir_spec"]


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_flag_changes_what_the_script_hands_its_package(script, observed):
  results = observed(script)["results"]
  base, changed = results[0], results[1:]
  assert "outcome" not in base, base
  unchanged, failed = [], []
  for (name, change), after in zip(sorted(CHANGES[script].items()), changed):
    if "outcome" in after:
      failed.append((name, after["outcome"]))
    elif after[change.level] == base[change.level]:
      unchanged.append(name)
  assert not failed, "a command of the table fails: %s" % failed
  assert not unchanged, "flags accepted and ignored: %s" % unchanged


@pytest.mark.parametrize("script", SCRIPTS)
def test_a_model_flag_given_reaches_the_model_alone(script, observed):
  """Given, a model flag is the one override passed on (under its ModelSpec
  field's name); inference's own choices change the model, the others are
  refused as contradicting training, naming the flag."""
  results = dict(zip(sorted(CHANGES[script]), observed(script)["results"][1:]))
  image_size = "image_size" if script == "export_inference_graph" else "eval_image_size"
  for name in ("model_name", "preprocessing_name", "depth_multiplier",
               "labels_offset", "moving_average_decay", "mixed_precision",
               image_size):
    overrides = results[name]["options"]["model_overrides"]
    field = "image_size" if name == image_size else name
    assert list(overrides) == [field], (name, overrides)
    spec = results[name]["spec"]
    if name in ("moving_average_decay", "mixed_precision"):
      assert spec[name] == {"moving_average_decay": 0.99,
                            "mixed_precision": True}[name]
    else:
      assert spec.startswith("refused: --%s=" % name), spec


def test_the_evaluator_task_flags_are_eval_options():
  """train_image_classifier.py's evaluator task builds its EvalOptions from
  EvaluatorTaskFlags by field name."""
  from deployment import cluster
  from evaluation import evaluate
  task = {f.name for f in dataclasses.fields(cluster.EvaluatorTaskFlags)}
  assert task <= {f.name for f in dataclasses.fields(evaluate.EvalOptions)}
