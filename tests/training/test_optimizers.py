"""Every TF-Slim optimizer steps; learning-rate schedules follow the formulas."""
import dataclasses

import numpy as np
import pytest

from tf_compat import tf
from training import optimizers


@pytest.mark.parametrize("name", optimizers.OPTIMIZERS)
def test_every_optimizer_reduces_a_quadratic(name):
  params = optimizers.OptimizerParams(optimizer=name, learning_rate=0.1)
  with tf.Graph().as_default():
    x = tf.compat.v1.get_variable("x", initializer=tf.constant([3.0, -2.0]))
    loss = tf.reduce_sum(tf.square(x))
    step = optimizers.configure_optimizer(0.1, params).minimize(loss)
    with tf.compat.v1.Session() as sess:
      sess.run(tf.compat.v1.global_variables_initializer())
      before = sess.run(loss)
      for _ in range(5):
        sess.run(step)
      assert sess.run(loss) < before


def test_decay_steps_use_the_real_split_size():
  params = optimizers.OptimizerParams(batch_size=16, num_epochs_per_decay=2.0)
  assert optimizers.decay_steps(800, params) == 100
  sync = dataclasses.replace(params, sync_replicas=True, replicas_to_aggregate=4)
  assert optimizers.decay_steps(800, sync) == 25


@pytest.mark.parametrize("kind", optimizers.DECAY_TYPES)
def test_schedules_match_their_formula(kind):
  params = optimizers.OptimizerParams(
      learning_rate=0.1, learning_rate_decay_type=kind, end_learning_rate=0.001,
      learning_rate_decay_factor=0.5, num_epochs_per_decay=1.0, batch_size=10,
      max_number_of_steps=40)
  steps = [0, 5, 10, 19, 20, 35, 60]
  with tf.Graph().as_default():
    step = tf.compat.v1.placeholder(tf.int64, [])
    lr = optimizers.configure_learning_rate(100, step, params)  # 10 steps / decay
    with tf.compat.v1.Session() as sess:
      got = [sess.run(lr, {step: s}) for s in steps]
  expected = [optimizers.expected_learning_rate(s, 100, params) for s in steps]
  np.testing.assert_allclose(got, expected, rtol=1e-5)
  if kind == "exponential":
    np.testing.assert_allclose(got[:5], [0.1, 0.1, 0.05, 0.05, 0.025], rtol=1e-6)
  if kind == "polynomial":
    assert got[2] == pytest.approx(0.001) and got[1] == pytest.approx(0.0505)
  if kind == "cosine":
    assert got[0] == pytest.approx(0.1) and got[-1] == pytest.approx(0.001)


def test_unknown_names_are_errors():
  with pytest.raises(ValueError, match="--optimizer"):
    optimizers.configure_optimizer(0.1, optimizers.OptimizerParams(optimizer="lamb"))
