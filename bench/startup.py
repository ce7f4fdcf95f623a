"""Dead time around a short training run, timed in child processes.

``report(dataset_dir, runs)`` runs ``runs`` 5-step trainings per precision
(float32, then --mixed_precision, alternating) of the small test-suite net
(InceptionV3, depth_multiplier 0.1, 107 px, batch 8) through
``training.train.build_and_train`` in a fresh process each, and prints the
medians of:
  import    process start -> ``training.train`` imported (the child imports
            tf_compat first, as every slim-med script does)
  start-up  process start -> the first step's session.run starts (imports,
            graph build, session, restore/init, summary writer, graph.pbtxt)
  steps     the 5 steps' session.run calls (the first ones include graph
            optimisation of the training step)
  warm-up   steps - 5 x the median of steps 3-5: what the steps spent beyond
            steady state (building and optimising the step's graph)
  tail      the last step's session.run returns -> the process has exited
  wall - steps
``code_dir`` times another checkout (e.g. the commit before a change) with
the same child code.

  python bench/startup.py DATASET_DIR [RUNS] [CODE_DIR]
"""
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

CHILD = r'''
import json, sys, time
T0 = float(sys.argv[1])
import tf_compat
from training import train
IMPORTED = time.time()
from tensorflow.python.training import monitored_session
calls = []
_run = monitored_session.MonitoredSession.run
def run(self, *a, **k):
  start = time.time()
  try:
    return _run(self, *a, **k)
  finally:
    calls.append((start, time.time()))
monitored_session.MonitoredSession.run = run
config = train.TrainConfig(
    train_dir=sys.argv[2], dataset_dir=sys.argv[3], depth_multiplier=0.1,
    train_image_size=107, batch_size=8, max_number_of_steps=5, num_readers=2,
    num_preprocessing_threads=2, log_every_n_steps=100,
    mixed_precision=sys.argv[4] == "1")
train.build_and_train(config)
print("TIMES " + json.dumps({"t0": T0, "imported": IMPORTED, "calls": calls}),
      flush=True)
'''


def one_run(dataset_dir, mixed, code_dir):
  with tempfile.TemporaryDirectory(prefix="bench_startup_") as tmp:
    env = dict(os.environ, PYTHONPATH=code_dir, TF_CPP_MIN_LOG_LEVEL="2")
    start = time.time()
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, repr(start), os.path.join(tmp, "train"),
         dataset_dir, "1" if mixed else "0"],
        cwd=code_dir, env=env, capture_output=True, text=True)
    end = time.time()
  if proc.returncode:
    raise RuntimeError(proc.stderr[-2000:])
  line = [l for l in proc.stdout.splitlines() if l.startswith("TIMES ")][-1]
  times = json.loads(line[6:])
  calls = times["calls"]
  durations = [e - s for s, e in calls]
  steps = sum(durations)
  return {"import": times["imported"] - start, "startup": calls[0][0] - start,
          "steps": steps,
          "warmup": steps - len(durations) * float(np.median(durations[2:])),
          "tail": end - calls[-1][1], "wall_minus_steps": end - start - steps,
          "wall": end - start}


def report(dataset_dir, runs=2, code_dir=None):
  code_dir = code_dir or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  results = {False: [], True: []}
  for _ in range(runs):
    for mixed in (False, True):
      results[mixed].append(one_run(dataset_dir, mixed, code_dir))
  print("5-step run of %s (InceptionV3 dm 0.1, 107 px, batch 8), median of %d "
        "child processes, seconds:" % (code_dir, runs))
  keys = ("import", "startup", "steps", "warmup", "tail", "wall_minus_steps", "wall")
  print("%-18s" % "precision" + "".join("%17s" % k for k in keys))
  for mixed, rows in results.items():
    print("%-18s" % ("--mixed_precision" if mixed else "float32")
          + "".join("%17.2f" % np.median([r[k] for r in rows]) for k in keys))
  print("load average (1 min) at the end: %.1f" % os.getloadavg()[0])
  return results


if __name__ == "__main__":
  report(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 2,
         sys.argv[3] if len(sys.argv) > 3 else None)
