"""Training on TensorFlow's distributed runtime, on loopback: every task is a
train_image_classifier.py process under `timeout`, configured by TF_CONFIG
with free 127.0.0.1 ports, stopped by its own PID.

CI-sized: tiny_cnn at 32 px, single-threaded TensorFlow, a few steps.
  * 1 ps + chief + worker, async: kill -9 of the worker mid-run, restart, it
    rejoins the shared global step; then the whole cluster is killed and
    restarted with --sync_replicas: it resumes from the last checkpoint, each
    global step aggregates 2 gradients (2 pushes per step from a chief alone), then both workers finish synchronously;
  * chief + worker without ps (MultiWorkerMirroredStrategy) with an evaluator
    task: identical weights on both workers, the evaluator evaluates the
    chief's checkpoints up to the final one;
  * too many workers for the shards: a one-line error.
"""
import glob
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from tests.training import checkpoint_fixtures, record_fixtures

pytestmark = pytest.mark.slow

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LIMIT = 150   # seconds any one process may live
TINY = ["--model_name=tiny_cnn", "--train_image_size=32", "--batch_size=4",
        "--num_readers=1", "--num_preprocessing_threads=1", "--save_graph=false",
        "--num_image_summaries=0", "--log_every_n_steps=1",
        "--save_interval_secs=1", "--save_summaries_secs=600",
        "--learning_rate_decay_type=fixed", "--optimizer=sgd"]
STEP = re.compile(r"global step (\d+):")


def _free_ports(n):
  socks = [socket.socket() for _ in range(n)]
  for sock in socks:
    sock.bind(("127.0.0.1", 0))
  ports = [sock.getsockname()[1] for sock in socks]
  for sock in socks:
    sock.close()
  return ports


def _loopback(jobs):
  """{"ps": 1, "chief": 1, ...} -> {"ps": ["127.0.0.1:p"], ...}."""
  ports = iter(_free_ports(sum(jobs.values())))
  return {job: ["127.0.0.1:%d" % next(ports) for _ in range(n)]
          for job, n in jobs.items()}


class Task:
  """One train_image_classifier.py process (under `timeout`) of a cluster."""

  def __init__(self, log_dir, cluster, task_type, index, args):
    self.name = "%s%d" % (task_type, index)
    self.log_path = os.path.join(log_dir, "%s-%d.log" % (self.name, time.time_ns()))
    env = dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="2",
               TF_NUM_INTRAOP_THREADS="1", TF_NUM_INTEROP_THREADS="1",
               TF_CONFIG=json.dumps({"cluster": cluster, "task": {
                   "type": task_type, "index": index}}))
    with open(self.log_path, "w") as log:
      self.popen = subprocess.Popen(
          ["timeout", "-s", "KILL", str(LIMIT), sys.executable,
           "train_image_classifier.py"] + args,
          cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)

  def python_pid(self):
    """The PID of the Python process `timeout` started."""
    path = "/proc/%d/task/%d/children" % (self.popen.pid, self.popen.pid)
    deadline = time.time() + 10
    while time.time() < deadline:
      try:
        children = open(path).read().split()
      except OSError:
        return None
      if children:
        return int(children[0])
      time.sleep(0.05)
    return None

  def kill(self):
    if self.popen.poll() is None:
      pid = self.python_pid()
      if pid:
        os.kill(pid, signal.SIGKILL)
      self.popen.wait(timeout=30)

  def wait(self, timeout=LIMIT):
    return self.popen.wait(timeout=timeout)

  def text(self):
    with open(self.log_path) as f:
      return f.read()

  def steps(self):
    return [int(s) for s in STEP.findall(self.text())]

  def result(self):
    match = re.search(r"Training finished: (\{.*\})", self.text())
    assert match, self.text()[-3000:]
    return eval(match.group(1))   # a dict of ints/floats/None we logged

  def wait_for(self, predicate, what, timeout=LIMIT):
    deadline = time.time() + timeout
    while time.time() < deadline:
      if predicate(self):
        return
      if self.popen.poll() is not None:
        break
      time.sleep(0.2)
    raise AssertionError("%s: no %s\n%s" % (self.name, what, self.text()[-3000:]))


@pytest.fixture
def tasks():
  started = []
  yield started
  for task in started:   # every process stopped by its own PID
    task.kill()


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory):
  return record_fixtures.write_dataset(
      tmp_path_factory.mktemp("data"), name="kaggle_dr", size=32, channels=3,
      splits={"train": [4, 4, 4, 4], "validation": [2, 2, 2, 2]}, num_shards=4)


def _latest_step(train_dir):
  steps = [int(re.search(r"-(\d+)\.index$", p).group(1))
           for p in glob.glob(os.path.join(train_dir, "model.ckpt-*.index"))]
  return max(steps) if steps else -1


def test_ps_async_kill_and_restart_then_sync_resume(tmp_path, dataset_dir, tasks):
  train_dir = str(tmp_path / "train")
  args = ["--train_dir=" + train_dir, "--dataset_dir=" + dataset_dir] + TINY

  def start(cluster, task_type, index, extra):
    task = Task(str(tmp_path), cluster, task_type, index, args + extra)
    tasks.append(task)
    return task

  # 1. Asynchronous, "forever": kill -9 the worker mid-run and restart it.
  cluster = _loopback({"ps": 1, "chief": 1, "worker": 1})
  forever = ["--max_number_of_steps=1000000"]
  ps = start(cluster, "ps", 0, forever)
  chief = start(cluster, "chief", 0, forever)
  worker = start(cluster, "worker", 0, forever)
  worker.wait_for(lambda t: len(t.steps()) >= 3, "training steps")
  before = max(worker.steps())
  worker.kill()
  assert worker.popen.returncode in (-9, 137)   # SIGKILL (passed on by `timeout`)
  assert chief.popen.poll() is None       # the cluster goes on without it
  worker = start(cluster, "worker", 0, forever)
  worker.wait_for(lambda t: t.steps(), "training steps after the restart")
  # It rejoined the shared global step (async: both workers advance it).
  assert worker.steps()[0] > before + 1
  chief.wait_for(lambda t: _latest_step(train_dir) > 0, "checkpoint")
  assert "Cluster from TF_CONFIG: ps ps:0" in ps.text()

  # 2. The whole cluster dies (kill -9) and comes back synchronous
  # (replicas_to_aggregate=2), the chief first: it resumes from the last
  # checkpoint, and alone it must push 2 gradients per global step.
  for task in (chief, worker, ps):
    task.kill()
  resumed = _latest_step(train_dir)
  assert resumed > 0
  cluster = _loopback({"ps": 1, "chief": 1, "worker": 1})
  sync = ["--sync_replicas", "--replicas_to_aggregate=2"]
  ps = start(cluster, "ps", 0, sync)
  chief = start(cluster, "chief", 0, sync + ["--max_number_of_steps=%d" % (resumed + 3)])
  assert chief.wait() == 0, chief.text()[-3000:]
  assert "Resuming from %s/model.ckpt-%d" % (train_dir, resumed) in chief.text()
  assert _latest_step(train_dir) == resumed + 3
  # (+1: the first push after a restore may carry a stale local step.)
  assert 2 * 3 <= chief.result()["steps_run"] <= 2 * 3 + 1
  # 3. Both workers, synchronous, 5 more steps. The whole cluster restarts:
  # SyncReplicasOptimizer's token queue lives on the ps and the stopping
  # chief closes it, so a sync chief cannot rejoin a running ps.
  ps.kill()
  cluster = _loopback({"ps": 1, "chief": 1, "worker": 1})
  ps = start(cluster, "ps", 0, sync)
  final = ["--max_number_of_steps=%d" % (resumed + 8)]
  chief = start(cluster, "chief", 0, sync + final)
  worker = start(cluster, "worker", 0, sync + final)
  assert chief.wait() == 0, chief.text()[-3000:]
  assert worker.wait() == 0, worker.text()[-3000:]
  assert "Resuming from %s/model.ckpt-%d" % (train_dir, resumed + 3) in chief.text()
  assert _latest_step(train_dir) == resumed + 8
  assert chief.result()["global_step"] == resumed + 8
  pushed = chief.result()["steps_run"] + worker.result()["steps_run"]
  assert pushed >= 2 * 5, pushed   # every global step took 2 gradients
  assert ps.popen.poll() is None   # a ps serves until killed


def test_multi_worker_mirrored_with_evaluator(tmp_path, dataset_dir, tasks):
  train_dir = str(tmp_path / "train")
  scratch = str(tmp_path / "worker_scratch")
  steps = 8
  args = ["--train_dir=" + train_dir, "--dataset_dir=" + dataset_dir,
          "--max_number_of_steps=%d" % steps, "--worker_scratch_dir=" + scratch,
          "--eval_interval_secs=1", "--timeout=60", "--eval_batch_size=8"] + TINY
  cluster = _loopback({"chief": 1, "worker": 1, "evaluator": 1})
  chief = Task(str(tmp_path), cluster, "chief", 0, args)
  worker = Task(str(tmp_path), cluster, "worker", 0, args)
  evaluator = Task(str(tmp_path), cluster, "evaluator", 0, args)
  tasks.extend([chief, worker, evaluator])
  for task in (chief, worker, evaluator):
    assert task.wait() == 0, task.text()[-3000:]
  for task in (chief, worker):
    assert "MultiWorkerMirroredStrategy: %s 0 of 2 workers (2 shards here)" % (
        task.name[:-1]) in task.text()
    assert task.result()["global_step"] == steps
  # Synchronous all-reduce: the same weights (and batch-norm statistics) on
  # both workers; only the chief wrote into the train_dir.
  ours = checkpoint_fixtures.read_checkpoint(os.path.join(train_dir, "model.ckpt-%d" % steps))
  theirs = checkpoint_fixtures.read_checkpoint(os.path.join(scratch, "model.ckpt-%d" % steps))
  assert set(ours) == set(theirs) and any(n.endswith("moving_mean") for n in ours)
  for name, value in ours.items():
    np.testing.assert_array_equal(value, theirs[name], err_msg=name)
  assert os.path.exists(os.path.join(train_dir, "flags.json"))
  assert not glob.glob(os.path.join(scratch, "*.json"))
  # The evaluator evaluated the chief's checkpoints, the final one last.
  summary = json.load(open(os.path.join(train_dir, "eval_validation", "checkpoints.json")))
  evaluated = [c["global_step"] for c in summary["checkpoints"]]
  assert evaluated and evaluated[-1] == steps, evaluated
  metrics = json.load(open(os.path.join(train_dir, "eval_validation",
                                        "step_%d" % steps, "metrics.json")))
  assert metrics["num_examples"] == 8


def test_more_workers_than_shards_is_a_one_line_error(tmp_path, dataset_dir):
  cluster = _loopback({"chief": 1, "worker": 4})
  task = Task(str(tmp_path), cluster, "worker", 3,
              ["--train_dir=%s" % (tmp_path / "train"), "--dataset_dir=" + dataset_dir] + TINY)
  assert task.wait() == 1
  text = task.text()
  assert "Traceback" not in text
  last = text.strip().splitlines()[-1]
  assert "5 training workers" in last and "--num_shards=5" in last, last
  assert not os.path.exists(tmp_path / "train")
