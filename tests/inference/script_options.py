"""What an inference script hands its package, command by command (for
tests/inference/test_inference_flags.py):

    python -m tests.inference.script_options <request.json> <reply.json>

request: {"script": "eval_image_classifier", "commands": [[arg, ...], ...]}
reply:   {"flags": the flags the script defines (listed under the script or
                   inference_flags, as --helpfull groups them),
          "results": one per command: {"options": the Options dataclass the
                   script's main passed to its package call, as a dict,
                   "spec": model_spec.for_inference of those options (the
                   model the package would use) or its refusal} or
                   {"outcome": the script's usage error}}

The script is imported, so its flags are defined as in a run; each command is
parsed by absl and the script's ``main`` runs with the package call
(PACKAGE_CALLS) replaced by a recorder, so nothing is evaluated, predicted
or exported. One script per process: their flags would clash in one FLAGS.
"""
import dataclasses
import importlib
import json
import sys

from absl import app, flags

# script -> the package module whose run() the script's main calls
PACKAGE_CALLS = {
    "eval_image_classifier": "evaluation.evaluate",
    "predict_image_classifier": "inference.predict",
    "visualize_image_classifier": "inference.gradcam",
    "export_inference_graph": "inference.export",
}


def _spec(options):
  from nets import model_spec
  if not options.checkpoint_path:
    return None
  try:
    spec = model_spec.for_inference(
        options.checkpoint_path, options.model_overrides,
        flag_names=getattr(options, "model_flag_names", None))
  except ValueError as err:
    return "refused: %s" % err
  return json.loads(spec.to_json())


def observe(script, commands):
  module = importlib.import_module(script)
  package = importlib.import_module(PACKAGE_CALLS[script])
  FLAGS = flags.FLAGS
  by_module = FLAGS.flags_by_module_dict()
  defined = sorted(f.name for name in (script, "inference_flags")
                   for f in by_module.get(name, []))
  calls = []
  package.run = calls.append
  results = []
  for args in commands:
    FLAGS.unparse_flags()
    FLAGS([script + ".py"] + list(args))
    del calls[:]
    try:
      module.main([])
    except app.UsageError as err:
      results.append({"outcome": "usage error: %s" % err})
      continue
    if len(calls) != 1:
      raise AssertionError("%s's main called %s.run %d times"
                           % (script, PACKAGE_CALLS[script], len(calls)))
    results.append({"options": dataclasses.asdict(calls[0]),
                    "spec": _spec(calls[0])})
  return {"flags": defined, "results": results}


def main(argv):
  request_path, reply_path = argv[1:]
  with open(request_path) as f:
    request = json.load(f)
  reply = observe(request["script"], request["commands"])
  with open(reply_path, "w") as f:
    json.dump(reply, f)


if __name__ == "__main__":
  main(sys.argv)
