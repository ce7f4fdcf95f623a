"""TF-Slim's optimizers and learning-rate schedules, from plain values.

``OptimizerParams`` declares the TF-Slim optimizer flags (same names, see
flagdefs.py); the training script builds it from FLAGS, tests directly.
"""
import dataclasses
import math
from typing import Optional

from flagdefs import option
from tf_compat import tf

OPTIMIZERS = ("adadelta", "adagrad", "adam", "ftrl", "momentum", "rmsprop", "sgd")
DECAY_TYPES = ("fixed", "exponential", "polynomial", "cosine")


@dataclasses.dataclass
class OptimizerParams:
  """TF-Slim's optimizer and learning-rate options: each option field IS its
  train_image_classifier.py flag (flagdefs.py; TrainConfig.optimizer)."""
  optimizer: str = option("The name of the optimizer.", default="rmsprop",
                          enum=OPTIMIZERS)
  learning_rate: float = option("Initial learning rate.", default=0.01)
  learning_rate_decay_type: str = option(
      "Specifies how the learning rate is decayed: fixed, exponential, "
      "polynomial, or cosine (half cosine to --end_learning_rate over "
      "--max_number_of_steps).", default="exponential", enum=DECAY_TYPES)
  end_learning_rate: float = option(
      "The minimal end learning rate used by a polynomial (or cosine) decay.",
      default=0.0001)
  learning_rate_decay_factor: float = option("Learning rate decay factor.",
                                             default=0.94)
  num_epochs_per_decay: float = option(
      "Number of epochs after which learning rate decays (epoch = the split's "
      "real number of examples from dataset_info.json).", default=2.0)
  # Not flags here: training copies them from TrainConfig (whose fields are
  # the --batch_size, --sync_replicas, ... flags).
  batch_size: int = 32
  sync_replicas: bool = False
  replicas_to_aggregate: int = 1
  max_number_of_steps: Optional[int] = None
  adadelta_rho: float = option("The decay rate for adadelta.", default=0.95)
  adagrad_initial_accumulator_value: float = option(
      "Starting value for the AdaGrad accumulators.", default=0.1)
  adam_beta1: float = option(
      "The exponential decay rate for the 1st moment estimates.", default=0.9)
  adam_beta2: float = option(
      "The exponential decay rate for the 2nd moment estimates.", default=0.999)
  opt_epsilon: float = option("Epsilon term for the optimizer.", default=1.0)
  ftrl_learning_rate_power: float = option("The learning rate power.",
                                           default=-0.5)
  ftrl_initial_accumulator_value: float = option(
      "Starting value for the FTRL accumulators.", default=0.1)
  ftrl_l1: float = option("The FTRL l1 regularization strength.", default=0.0)
  ftrl_l2: float = option("The FTRL l2 regularization strength.", default=0.0)
  momentum: float = option(
      "The momentum for the MomentumOptimizer and RMSPropOptimizer.",
      default=0.9)
  rmsprop_momentum: float = option("Momentum.", default=0.9)
  rmsprop_decay: float = option("Decay term for RMSProp.", default=0.9)


def decay_steps(num_samples_per_epoch, params: OptimizerParams) -> int:
  """Steps per decay period, from the real split size (TF-Slim's formula)."""
  steps = int(num_samples_per_epoch * params.num_epochs_per_decay / params.batch_size)
  if params.sync_replicas:
    steps = int(steps / max(1, params.replicas_to_aggregate))
  return max(1, steps)


def configure_learning_rate(num_samples_per_epoch, global_step,
                            params: OptimizerParams):
  """The learning-rate tensor.

  fixed:       learning_rate
  exponential: learning_rate * decay_factor ^ floor(step / decay_steps)
  polynomial:  linear (power 1) from learning_rate to end_learning_rate over
               decay_steps, then end_learning_rate
  cosine:      half cosine from learning_rate to end_learning_rate over
               --max_number_of_steps (or decay_steps when training has no
               step limit), then end_learning_rate
  """
  kind = params.learning_rate_decay_type
  steps = decay_steps(num_samples_per_epoch, params)
  lr = params.learning_rate
  if kind == "fixed":
    return tf.constant(lr, tf.float32, name="fixed_learning_rate")
  if kind == "exponential":
    return tf.compat.v1.train.exponential_decay(
        lr, global_step, steps, params.learning_rate_decay_factor,
        staircase=True, name="exponential_decay_learning_rate")
  if kind == "polynomial":
    return tf.compat.v1.train.polynomial_decay(
        lr, global_step, steps, params.end_learning_rate, power=1.0,
        cycle=False, name="polynomial_decay_learning_rate")
  if kind == "cosine":
    total = params.max_number_of_steps or steps
    alpha = params.end_learning_rate / lr if lr else 0.0
    return tf.compat.v1.train.cosine_decay(lr, global_step, total, alpha=alpha,
                                           name="cosine_decay_learning_rate")
  raise ValueError("--learning_rate_decay_type=%s is not one of %s"
                   % (kind, ", ".join(DECAY_TYPES)))


def configure_optimizer(learning_rate, params: OptimizerParams):
  name = params.optimizer
  if name == "adadelta":
    return tf.compat.v1.train.AdadeltaOptimizer(
        learning_rate, rho=params.adadelta_rho, epsilon=params.opt_epsilon)
  if name == "adagrad":
    return tf.compat.v1.train.AdagradOptimizer(
        learning_rate,
        initial_accumulator_value=params.adagrad_initial_accumulator_value)
  if name == "adam":
    return tf.compat.v1.train.AdamOptimizer(
        learning_rate, beta1=params.adam_beta1, beta2=params.adam_beta2,
        epsilon=params.opt_epsilon)
  if name == "ftrl":
    return tf.compat.v1.train.FtrlOptimizer(
        learning_rate, learning_rate_power=params.ftrl_learning_rate_power,
        initial_accumulator_value=params.ftrl_initial_accumulator_value,
        l1_regularization_strength=params.ftrl_l1,
        l2_regularization_strength=params.ftrl_l2)
  if name == "momentum":
    return tf.compat.v1.train.MomentumOptimizer(
        learning_rate, momentum=params.momentum, name="Momentum")
  if name == "rmsprop":
    return tf.compat.v1.train.RMSPropOptimizer(
        learning_rate, decay=params.rmsprop_decay,
        momentum=params.rmsprop_momentum, epsilon=params.opt_epsilon)
  if name == "sgd":
    return tf.compat.v1.train.GradientDescentOptimizer(learning_rate)
  raise ValueError("--optimizer=%s is not one of %s" % (name, ", ".join(OPTIMIZERS)))


def expected_learning_rate(step, num_samples_per_epoch, params: OptimizerParams):
  """The schedule in plain Python (for docs, logs and tests)."""
  steps = decay_steps(num_samples_per_epoch, params)
  lr = params.learning_rate
  kind = params.learning_rate_decay_type
  if kind == "fixed":
    return lr
  if kind == "exponential":
    return lr * params.learning_rate_decay_factor ** (step // steps)
  if kind == "polynomial":
    frac = min(step, steps) / steps
    return (lr - params.end_learning_rate) * (1 - frac) + params.end_learning_rate
  if kind == "cosine":
    total = params.max_number_of_steps or steps
    alpha = params.end_learning_rate / lr if lr else 0.0
    frac = min(step, total) / total
    return lr * ((1 - alpha) * 0.5 * (1 + math.cos(math.pi * frac)) + alpha)
  raise ValueError(kind)
