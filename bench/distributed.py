"""Scaling out on one machine: images/s of 1 and 2 single-threaded workers.

Starts train_image_classifier.py processes on 127.0.0.1 exactly as a cluster
launcher would (TF_CONFIG per task, TF_NUM_INTRAOP/INTEROP_THREADS=1):
  local     1 worker, no cluster
  async     1 ps + 2 workers
  sync      1 ps + 2 workers, --sync_replicas --replicas_to_aggregate=2
  allreduce 2 workers, MultiWorkerMirroredStrategy
and reads the chief's step log: images/s = images consumed per global step
(batch; x2 for sync; x workers for all-reduce) over the last 2/3 of the steps.

Gradient bytes per step = float32 size of the trainable variables (what each
worker sends; with a ps it also receives as much back). From them and the
measured single-worker step time t, the bandwidth at which N workers stop
scaling (communication time = compute time):
  parameter server link:  N * 2 * G / t        (every worker's push + pull)
  each worker (ring all-reduce):  2 * G * (N - 1) / N / t

  python bench/distributed.py                   # InceptionV3 dm 0.1, 107 px
  python bench/distributed.py --depth_multiplier=1.0 --image_size=299
"""
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from absl import app, flags  # noqa: E402

flags.DEFINE_string("model_name", "inception_v3", "Model to benchmark.")
flags.DEFINE_float("depth_multiplier", 0.1, "Thins InceptionV2/V3.")
flags.DEFINE_integer("image_size", 107, "Net input size.")
flags.DEFINE_integer("batch_size", 8, "Batch per worker.")
flags.DEFINE_integer("steps", 60, "Global steps per configuration.")
flags.DEFINE_list("modes", ["local", "async", "sync", "allreduce"], "Configurations.")
flags.DEFINE_integer("num_records", 96, "Synthetic records to write.")
flags.DEFINE_integer("timeout", 900, "Seconds any one process may live.")
FLAGS = flags.FLAGS

LINE = re.compile(r"^I\d{4} (\d\d):(\d\d):(\d\d\.\d+) .*global step (\d+):", re.M)


def _ports(n):
  socks = [socket.socket() for _ in range(n)]
  for s in socks:
    s.bind(("127.0.0.1", 0))
  ports = [s.getsockname()[1] for s in socks]
  for s in socks:
    s.close()
  return ["127.0.0.1:%d" % p for p in ports]


def _run(mode, dataset_dir, work):
  train_dir = os.path.join(work, mode)
  args = [sys.executable, os.path.join(REPO, "train_image_classifier.py"),
          "--train_dir=" + train_dir, "--dataset_dir=" + dataset_dir,
          "--model_name=" + FLAGS.model_name, "--train_image_size=%d" % FLAGS.image_size,
          "--batch_size=%d" % FLAGS.batch_size, "--max_number_of_steps=%d" % FLAGS.steps,
          "--num_readers=1", "--num_preprocessing_threads=1", "--save_graph=false",
          "--num_image_summaries=0", "--log_every_n_steps=1",
          "--save_interval_secs=100000", "--save_summaries_secs=100000"]
  if FLAGS.depth_multiplier and FLAGS.model_name.startswith("inception_v"):
    args.append("--depth_multiplier=%s" % FLAGS.depth_multiplier)
  env = dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="2",
             TF_NUM_INTRAOP_THREADS="1", TF_NUM_INTEROP_THREADS="1")
  env.pop("TF_CONFIG", None)
  if mode == "local":
    tasks, extra = [None], []
  else:
    cluster = {"worker": _ports(2)}
    if mode in ("async", "sync"):
      cluster["ps"] = _ports(1)
    tasks = [("worker", 0), ("worker", 1)] + ([("ps", 0)] if "ps" in cluster else [])
    extra = ["--sync_replicas", "--replicas_to_aggregate=2"] if mode == "sync" else []
  procs = []
  for task in tasks:
    task_env = dict(env)
    if task:
      task_env["TF_CONFIG"] = json.dumps({"cluster": cluster, "task": {
          "type": task[0], "index": task[1]}})
    log = open(os.path.join(work, "%s_%s.log" % (mode, "%s%d" % task if task else "local")), "w+")
    procs.append((subprocess.Popen(["timeout", str(FLAGS.timeout)] + args + extra,
                                   env=task_env, stdout=log, stderr=subprocess.STDOUT), log))
  for proc, _ in procs[:2 if mode != "local" else 1]:
    proc.wait()
  for proc, _ in procs:
    if proc.poll() is None:
      proc.kill()   # the ps (its `timeout` wrapper; the ps follows)
      proc.wait()
  chief_log = procs[0][1]
  chief_log.seek(0)
  points = [(int(h) * 3600 + int(m) * 60 + float(s), int(step))
            for h, m, s, step in LINE.findall(chief_log.read())]
  if len(points) < 6:
    raise RuntimeError("%s: too few steps logged (see %s)" % (mode, chief_log.name))
  points = points[len(points) // 3:]
  (t0, s0), (t1, s1) = points[0], points[-1]
  per_step = FLAGS.batch_size * {"local": 1, "async": 1, "sync": 2, "allreduce": 2}[mode]
  return (s1 - s0) * per_step / max(t1 - t0, 1e-9)


def gradient_bytes(model_name, depth_multiplier, num_classes=5):
  from tf_compat import tf
  from nets import nets_factory
  with tf.Graph().as_default():
    fn = nets_factory.get_network_fn(
        model_name, num_classes, is_training=True,
        depth_multiplier=depth_multiplier if model_name.startswith("inception_v") else None)
    size = max(fn.default_image_size, 107) if depth_multiplier != 1.0 else fn.default_image_size
    fn(tf.zeros([1, size, size, 3]))
    return sum(int(v.shape.num_elements()) * v.dtype.size
               for v in tf.compat.v1.trainable_variables())


def main(unused_argv):
  from bench_common import write_synthetic
  work = tempfile.mkdtemp(prefix="bench_distributed_")
  os.makedirs(os.path.join(work, "data"))
  dataset_dir = write_synthetic(os.path.join(work, "data"), FLAGS.num_records,
                                max(FLAGS.image_size, 32), shards=4)
  rates = {}
  for mode in FLAGS.modes:
    rates[mode] = _run(mode, dataset_dir, work)
    print("%-10s %8.1f images/s" % (mode, rates[mode]), flush=True)
  grad = gradient_bytes(FLAGS.model_name, FLAGS.depth_multiplier)
  full = gradient_bytes("inception_v3", 1.0, 1001)
  print()
  print("%s, depth_multiplier %s, %d px, batch %d per worker, %d steps, "
        "single-threaded workers, %d CPU cores" % (
            FLAGS.model_name, FLAGS.depth_multiplier, FLAGS.image_size,
            FLAGS.batch_size, FLAGS.steps, os.cpu_count()))
  base = rates.get("local")
  print("%-10s %12s %12s" % ("mode", "images/s", "vs 1 worker"))
  for mode, rate in rates.items():
    print("%-10s %12.1f %12s" % (mode, rate, "%.2f" % (rate / base) if base else "-"))
  print("gradient bytes per step: %.2f MB (this net), %.1f MB (InceptionV3 "
        "full, 1001 classes)" % (grad / 1e6, full / 1e6))
  if base:
    t = FLAGS.batch_size / base
    print("single-worker step %.3f s -> N workers stop scaling below:" % t)
    for n in (2, 4, 8):
      print("  N=%d: ps link %.2f Gbit/s; all-reduce %.2f Gbit/s per worker" % (
          n, n * 2 * grad / t * 8 / 1e9, 2 * grad * (n - 1) / n / t * 8 / 1e9))
  print("logs in", work)


if __name__ == "__main__":
  sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
  app.run(main)
