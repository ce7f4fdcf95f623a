"""evaluation.checkpoints: each new checkpoint of a train_dir once (continuous
eval). Which checkpoint a path names: tests/nets/test_checkpoints.py."""
import os

import pytest

from evaluation import checkpoints


def _touch_ckpt(directory, step):
  for suffix in (".index", ".data-00000-of-00001", ".meta"):
    with open(os.path.join(directory, "model.ckpt-%d%s" % (step, suffix)), "w"):
      pass
  return os.path.join(directory, "model.ckpt-%d" % step)


def test_new_checkpoints_yields_each_new_latest_once_and_times_out(tmp_path):
  d = str(tmp_path)
  _touch_ckpt(d, 1)
  clock = [0.0]
  sleeps = []

  def sleep(seconds):
    sleeps.append(seconds)
    clock[0] += seconds
    # training writes two checkpoints during the first wait, none afterwards
    if len(sleeps) == 1:
      _touch_ckpt(d, 2)
      _touch_ckpt(d, 3)

  stream = checkpoints.new_checkpoints(d, interval_secs=10, timeout=25,
                                       sleep=sleep, clock=lambda: clock[0])
  got = [os.path.basename(p) for p in stream]
  # ckpt-2 was superseded before it was looked at (TF-Slim behaviour)
  assert got == ["model.ckpt-1", "model.ckpt-3"]
  assert sum(sleeps[1:]) == pytest.approx(25)


def test_new_checkpoints_waits_for_a_train_dir_that_does_not_exist_yet(tmp_path):
  d = str(tmp_path / "later")
  clock = [0.0]

  def sleep(seconds):
    clock[0] += seconds
    os.makedirs(d, exist_ok=True)
    _touch_ckpt(d, 9)

  stream = checkpoints.new_checkpoints(d, 5, timeout=30, sleep=sleep,
                                       clock=lambda: clock[0])
  assert os.path.basename(next(stream)) == "model.ckpt-9"
