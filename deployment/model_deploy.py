"""Model replication over devices and workers, in TF-Slim's terms.

``--num_clones`` copies of the model ("clones") run on the devices of one
worker and share variables; their gradients are summed. ``--clone_on_cpu``
puts every clone on the CPU. In a cluster (``--num_ps_tasks`` > 0), variables
live on the parameter servers via ``tf.compat.v1.train.replica_device_setter``
and the ops of worker ``--task`` on ``/job:worker/task:<task>``; the session
connects to ``--master``. ``--sync_replicas`` wraps the optimizer in
``SyncReplicasOptimizer`` (see training/train.py).
"""
import dataclasses
from typing import Callable, List, Optional

from tf_compat import tf


STOP_GRACE_PERIOD_SECS = 3


@dataclasses.dataclass
class DeploymentConfig:
  num_clones: int = 1
  clone_on_cpu: bool = False
  replica_id: int = 0
  num_replicas: int = 1
  num_ps_tasks: int = 0
  worker_job_name: str = "worker"
  ps_job_name: str = "ps"
  # slim-med: task index of this worker in its job (default replica_id; a
  # cluster with a 'chief' job has replica 0 = chief:0, replica 1 = worker:0).
  worker_task: Optional[int] = None
  # MonitoredTrainingSession's wait for threads at the end (TensorFlow's
  # default is 120 s: SyncReplicasOptimizer's token-queue thread kept the
  # chief that long after its last step). Threads still running after it are
  # abandoned and the session close cancels what they wait on.
  stop_grace_period_secs: Optional[int] = None

  def __post_init__(self):
    if self.num_clones < 1:
      raise ValueError("--num_clones must be >= 1")
    if self.stop_grace_period_secs is None:
      self.stop_grace_period_secs = STOP_GRACE_PERIOD_SECS
    if self.num_replicas > 1 and self.num_ps_tasks < 1:
      raise ValueError("--worker_replicas > 1 needs --num_ps_tasks >= 1 (the "
                       "shared variables live on parameter servers)")

  @property
  def is_chief(self) -> bool:
    return self.replica_id == 0

  def _worker_prefix(self) -> str:
    if self.num_ps_tasks > 0:
      task = self.replica_id if self.worker_task is None else self.worker_task
      return "/job:%s/task:%d" % (self.worker_job_name, task)
    return ""

  def clone_device(self, index: int) -> str:
    if index >= self.num_clones:
      raise ValueError("clone %d of %d" % (index, self.num_clones))
    # In a cluster the job/task part comes from the replica device setter
    # (variables -> ps, ops -> this worker); only the device type is added.
    if self.clone_on_cpu:
      return "/device:CPU:0"
    if self.num_clones > 1:
      return "/device:GPU:%d" % index
    return ""

  def clone_scope(self, index: int) -> str:
    return "clone_%d" % index if self.num_clones > 1 else ""

  def inputs_device(self) -> str:
    return self._worker_prefix() + "/device:CPU:0"

  def optimizer_device(self) -> str:
    return self._worker_prefix() + "/device:CPU:0"

  def variables_device(self):
    """The device function wrapping the whole model: in a cluster the replica
    device setter (variables round-robin on the ps tasks, other ops on this
    worker); locally None (TensorFlow places, clones pick their device)."""
    if self.num_ps_tasks > 0:
      return tf.compat.v1.train.replica_device_setter(
          ps_tasks=self.num_ps_tasks, ps_device="/job:%s" % self.ps_job_name,
          worker_device=self._worker_prefix())
    return None


def device_scope(config: DeploymentConfig):
  """Context placing the graph for ``config`` (nothing locally)."""
  import contextlib
  device = config.variables_device()
  if device is None:
    return contextlib.nullcontext()
  return tf.compat.v1.device(device)


@dataclasses.dataclass
class Clone:
  outputs: object
  scope: str
  device: str


def create_clones(config: DeploymentConfig, model_fn: Callable) -> List[Clone]:
  """Calls ``model_fn(clone_index)`` once per clone, sharing variables.

  Variables are created by clone 0 and reused by the others; each clone's
  ops (and losses) live under its name scope. In a cluster, call this inside
  ``with device_scope(config):``.
  """
  clones = []
  for i in range(config.num_clones):
    with tf.compat.v1.name_scope(config.clone_scope(i) or None) as scope:
      device = config.clone_device(i)
      with tf.device(device):
        with tf.compat.v1.variable_scope(tf.compat.v1.get_variable_scope(),
                                         reuse=True if i > 0 else None):
          outputs = model_fn(i)
      clones.append(Clone(outputs, scope or "", device))
  return clones


def _losses_of(clone: Clone):
  if clone.scope:
    return tf.compat.v1.losses.get_losses(scope=clone.scope)
  return tf.compat.v1.losses.get_losses()


def optimize_clones(clones: List[Clone], optimizer, var_list, num_clones_total=None):
  """Sums each clone's losses (divided by the clone count), adds the
  regularisation once, and returns (total_loss, summed grads_and_vars)."""
  n = len(clones)
  regularization = tf.compat.v1.losses.get_regularization_losses()
  clone_losses, grads = [], []
  for i, clone in enumerate(clones):
    with tf.compat.v1.name_scope(clone.scope or None), tf.device(clone.device):
      losses = _losses_of(clone)
      if not losses:
        raise ValueError("clone %d added no loss" % i)
      loss = tf.add_n(losses, name="clone_loss")
      if n > 1:
        loss = tf.math.divide(loss, float(n), name="scaled_clone_loss")
      if i == 0 and regularization:
        loss = loss + tf.add_n(regularization, name="sum_regularization_losses")
      clone_losses.append(loss)
      grads.append(optimizer.compute_gradients(loss, var_list=var_list))
  total_loss = tf.add_n(clone_losses, name="sum_clone_losses")
  if n == 1:
    return total_loss, grads[0]
  summed = []
  for pairs in zip(*grads):
    var = pairs[0][1]
    values = [g for g, _ in pairs if g is not None]
    if not values:
      continue
    if isinstance(values[0], tf.IndexedSlices):
      grad = tf.IndexedSlices(tf.concat([g.values for g in values], 0),
                              tf.concat([g.indices for g in values], 0),
                              values[0].dense_shape)
    else:
      grad = tf.add_n(values, name=var.op.name + "/summed_grad")
    summed.append((grad, var))
  return total_loss, summed


def make_cluster_server(ps_hosts, worker_hosts, job_name, task_index):
  """Starts this process's in-graph-replication server for a cluster.

  ``ps_hosts`` / ``worker_hosts``: lists of "host:port". Returns the
  ``tf.distribute.Server``; its ``.target`` is the --master to use.
  """
  cluster = tf.train.ClusterSpec({"ps": list(ps_hosts), "worker": list(worker_hosts)})
  return tf.distribute.Server(cluster, job_name=job_name, task_index=task_index)
