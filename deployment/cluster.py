"""The cluster this process belongs to, from TF_CONFIG (or TF-Slim's host flags).

``TF_CONFIG`` is what Kubeflow's TFJob and every cluster launcher inject::

    {"cluster": {"chief": ["host0:2222"], "worker": ["host1:2222"],
                 "ps": ["host2:2222"], "evaluator": ["host3:2222"]},
     "task": {"type": "worker", "index": 0}}

It is the one source of cluster information; ``--ps_hosts``, ``--worker_hosts``,
``--job_name`` and ``--task`` build the same structure when it is not set.

Roles:
  * the chief is the ``chief`` (or ``master``) task, else worker 0; it alone
    writes checkpoints, summaries, flags.json and model_spec.json;
  * with a ``ps`` job, training is between-graph replication over parameter
    servers (``replica_device_setter``, async or ``--sync_replicas``); a ps
    task serves until it is killed;
  * without one, the chief and workers train synchronously with
    ``MultiWorkerMirroredStrategy`` (all-reduce; training/multi_worker.py);
  * an ``evaluator`` task is no part of the training cluster: it evaluates
    the chief's checkpoints as they appear.

Training workers (the chief first, then worker 0, 1, ...) each read their own
subset of the split's shards (round-robin), so a split needs at least as many
shards as there are training workers.
"""
import dataclasses
import json
import os
from typing import Dict, List, Optional

from flagdefs import option

TF_CONFIG = "TF_CONFIG"
CHIEF_JOBS = ("chief", "master")
KNOWN_JOBS = CHIEF_JOBS + ("worker", "ps", "evaluator")
# A sync chief's token-queue thread keeps MonitoredTrainingSession in its
# stop grace period (TensorFlow's default 120 s) after the last step.


@dataclasses.dataclass
class ClusterConfig:
  """One process's view of the cluster (jobs -> "host:port" lists, its task)."""
  cluster: Dict[str, List[str]]
  task_type: str
  task_index: int
  source: str = TF_CONFIG     # where it came from, for messages
  # Where a non-chief MultiWorkerMirroredStrategy worker saves its (required)
  # checkpoints; None: a temporary directory removed at the end.
  scratch_dir: Optional[str] = None

  @property
  def chief_job(self) -> str:
    for job in CHIEF_JOBS:
      if self.cluster.get(job):
        return job
    return "worker"

  @property
  def training_tasks(self) -> List[tuple]:
    """(job, index) of every training worker, the chief first."""
    tasks = [(job, i) for job in CHIEF_JOBS for i in range(len(self.cluster.get(job, [])))]
    return tasks + [("worker", i) for i in range(len(self.cluster.get("worker", [])))]

  @property
  def num_workers(self) -> int:
    return len(self.training_tasks)

  @property
  def num_ps(self) -> int:
    return len(self.cluster.get("ps", []))

  @property
  def mode(self) -> str:
    """'ps' (parameter servers) or 'mwms' (all-reduce between workers)."""
    return "ps" if self.num_ps else "mwms"

  @property
  def role(self) -> str:
    """'chief', 'worker', 'ps' or 'evaluator'."""
    if self.task_type in ("ps", "evaluator"):
      return self.task_type
    return "chief" if self.is_chief else "worker"

  @property
  def is_chief(self) -> bool:
    return (self.task_type, self.task_index) == self.training_tasks[0]

  @property
  def worker_index(self) -> int:
    """Position among the training workers (0 = chief); the replica id."""
    return self.training_tasks.index((self.task_type, self.task_index))

  def server_cluster(self) -> Dict[str, List[str]]:
    """The jobs of the training cluster (the evaluator is not one of them)."""
    return {job: list(hosts) for job, hosts in self.cluster.items()
            if job != "evaluator" and hosts}

  def device_filters(self) -> List[str]:
    """A worker talks to the parameter servers and itself only, so it starts
    without waiting for (or being stopped by) the other workers."""
    if self.mode != "ps":
      return []
    return ["/job:ps", "/job:%s/task:%d" % (self.task_type, self.task_index)]

  def to_tf_config(self) -> str:
    return json.dumps({"cluster": self.server_cluster(),
                       "task": {"type": self.task_type, "index": self.task_index}})


def _fail(source, message):
  raise ValueError("%s: %s" % (source, message))


def parse_tf_config(text: str, source: str = TF_CONFIG) -> Optional[ClusterConfig]:
  """A ClusterConfig from TF_CONFIG's JSON; None for an empty value or a
  value without a cluster (TensorFlow's local default)."""
  if not text or not text.strip():
    return None
  try:
    data = json.loads(text)
  except ValueError as err:
    _fail(source, "is not valid JSON (%s); expected "
          '{"cluster": {"worker": ["host:port", ...], ...}, '
          '"task": {"type": "worker", "index": 0}}' % err)
  if not isinstance(data, dict):
    _fail(source, "must be a JSON object with 'cluster' and 'task'")
  cluster = data.get("cluster") or {}
  if not cluster:
    return None
  if not isinstance(cluster, dict):
    _fail(source, "'cluster' must map job names to lists of 'host:port'")
  jobs = {}
  for job, hosts in cluster.items():
    if job not in KNOWN_JOBS:
      _fail(source, "unknown job %r in 'cluster' (known: %s)"
            % (job, ", ".join(KNOWN_JOBS)))
    if isinstance(hosts, dict):   # {"0": "host:port"} sparse form
      hosts = [hosts[k] for k in sorted(hosts, key=int)]
    if not isinstance(hosts, list) or not all(isinstance(h, str) and ":" in h
                                              for h in hosts):
      _fail(source, "job %r must list 'host:port' addresses, got %r" % (job, hosts))
    jobs[job] = hosts
  if jobs.get("chief") and jobs.get("master"):
    _fail(source, "has both a 'chief' and a 'master' job; keep one of them")
  for job in CHIEF_JOBS:
    if len(jobs.get(job, [])) > 1:
      _fail(source, "job %r has %d tasks; there is one chief"
            % (job, len(jobs[job])))
  if not any(jobs.get(job) for job in CHIEF_JOBS + ("worker",)):
    _fail(source, "'cluster' has no 'chief' and no 'worker' job; training "
          "needs at least one")
  task = data.get("task")
  if not isinstance(task, dict) or "type" not in task:
    _fail(source, "needs 'task': {\"type\": <job>, \"index\": <n>} naming "
          "this process")
  task_type = task["type"]
  try:
    task_index = int(task.get("index", 0))
  except (TypeError, ValueError):
    _fail(source, "task index must be an integer, got %r" % task.get("index"))
  if task_type not in KNOWN_JOBS:
    _fail(source, "unknown task type %r (known: %s)"
          % (task_type, ", ".join(KNOWN_JOBS)))
  if task_type != "evaluator":
    count = len(jobs.get(task_type, []))
    if not 0 <= task_index < count:
      _fail(source, "task %s:%d is not in the cluster (job %r has %d tasks)"
            % (task_type, task_index, task_type, count))
  elif task_index != 0:
    _fail(source, "there is one evaluator (task index 0), got index %d"
          % task_index)
  return ClusterConfig(jobs, task_type, task_index, source)


@dataclasses.dataclass
class HostFlags:
  """train_image_classifier.py's slim-med cluster flags, declared once
  (flagdefs.py): ``resolve``'s host arguments and ClusterConfig.scratch_dir."""
  ps_hosts: List[str] = option(
      "slim-med: parameter servers host:port; with --worker_hosts and "
      "--job_name starts this process's server and uses it as --master.",
      default_factory=list)
  worker_hosts: List[str] = option(
      "slim-med: workers host:port (see --ps_hosts).", default_factory=list)
  job_name: Optional[str] = option(
      "slim-med: this process's job in --ps_hosts/--worker_hosts; 'ps' serves "
      "variables until killed. The environment variable TF_CONFIG, when set, "
      "describes the cluster instead (see README 'Scaling out').",
      default=None, enum=("ps", "worker"))
  worker_scratch_dir: Optional[str] = option(
      "slim-med: a cluster without a ps job (MultiWorkerMirroredStrategy): "
      "where non-chief workers save the checkpoints they must write (only the "
      "chief writes --train_dir); default a temporary directory removed at "
      "the end.", default=None)


@dataclasses.dataclass
class EvaluatorTaskFlags:
  """train_image_classifier.py's flags for a cluster's evaluator task (TF_CONFIG
  task type 'evaluator'), declared once (flagdefs.py). The task runs
  eval_image_classifier.py's evaluation of --train_dir's checkpoints as they
  appear, with these: each field is the evaluation.evaluate.EvalOptions field
  it sets (--dataset_split_name/--batch_size are named
  --eval_split_name/--eval_batch_size here, as training has its own); the
  model comes from the chief's model_spec.json, so no model flags are needed."""
  dataset_split_name: str = option(
      "slim-med, evaluator task: the split evaluated.", default="validation",
      flag_name="eval_split_name")
  batch_size: int = option(
      "slim-med, evaluator task: examples per batch.", default=100,
      flag_name="eval_batch_size")
  eval_dir: Optional[str] = option(
      "slim-med, evaluator task: where reports and summaries go; default "
      "<train_dir>/eval_<split>.", default=None)
  eval_interval_secs: float = option(
      "slim-med, evaluator task: poll --train_dir this often and evaluate "
      "each new checkpoint once.", default=60)
  timeout: Optional[float] = option(
      "slim-med, evaluator task: stop after this many seconds without a new "
      "checkpoint (it stops anyway after the checkpoint of "
      "--max_number_of_steps).", default=None)
  max_num_batches: Optional[int] = option(
      "slim-med, evaluator task: evaluate at most this many batches.",
      default=None)
  select_by: str = option(
      "slim-med, evaluator task: metric naming the best checkpoint.",
      default="kappa", enum=("kappa", "auc", "accuracy"))
  bootstrap: int = option(
      "slim-med, evaluator task: resamples for 95% confidence intervals.",
      default=0)
  threshold: float = option(
      "slim-med, evaluator task: decision threshold of binary and multi-label "
      "tasks.", default=0.5)
  top_k: int = option("slim-med, evaluator task: k of top-k accuracy.",
                      default=5)


def from_flags(ps_hosts, worker_hosts, job_name, task) -> Optional[ClusterConfig]:
  """TF-Slim's --ps_hosts/--worker_hosts/--job_name/--task as a ClusterConfig."""
  ps_hosts, worker_hosts = list(ps_hosts or []), list(worker_hosts or [])
  if not (ps_hosts or worker_hosts or job_name):
    return None
  source = "--ps_hosts/--worker_hosts/--job_name"
  if not job_name:
    _fail(source, "--job_name=ps|worker is needed with --ps_hosts/--worker_hosts")
  if not worker_hosts:
    _fail(source, "--worker_hosts=host:port,... is needed with --job_name")
  cluster = {"worker": worker_hosts}
  if ps_hosts:
    cluster["ps"] = ps_hosts
  return parse_tf_config(json.dumps({"cluster": cluster, "task": {
      "type": job_name, "index": task}}), source="--job_name=%s --task=%d"
                         % (job_name, task))


def resolve(environ=None, ps_hosts=(), worker_hosts=(), job_name=None,
            task=0) -> Optional[ClusterConfig]:
  """TF_CONFIG if set, else the host flags; None for a single-machine run."""
  environ = os.environ if environ is None else environ
  from_env = parse_tf_config(environ.get(TF_CONFIG, ""))
  if from_env is not None:
    if ps_hosts or worker_hosts or job_name:
      raise ValueError("TF_CONFIG is set and so are --ps_hosts/--worker_hosts/"
                       "--job_name: describe the cluster one way only (unset "
                       "TF_CONFIG or drop the flags)")
    return from_env
  return from_flags(ps_hosts, worker_hosts, job_name, task)


def check_flags(cluster: ClusterConfig, num_ps_tasks: int, worker_replicas: int,
                master: str) -> None:
  """TF-Slim's cluster flags may be given too, but must agree with the cluster."""
  if num_ps_tasks and num_ps_tasks != cluster.num_ps:
    raise ValueError("--num_ps_tasks=%d but the cluster (%s) has %d ps tasks; "
                     "drop --num_ps_tasks" % (num_ps_tasks, cluster.source,
                                              cluster.num_ps))
  if worker_replicas not in (1, cluster.num_workers):
    raise ValueError("--worker_replicas=%d but the cluster (%s) has %d training "
                     "workers (chief included); drop --worker_replicas"
                     % (worker_replicas, cluster.source, cluster.num_workers))
  if master:
    raise ValueError("--master=%s is set by the cluster (%s): drop --master"
                     % (master, cluster.source))


def shard_files(files: List[str], num_workers: int, worker_index: int,
                split_name: str = "train", dataset_dir: str = "") -> List[str]:
  """This worker's shards: every num_workers-th file from worker_index on."""
  files = sorted(files)
  if num_workers > len(files):
    raise ValueError(
        "%d training workers but split %r%s has only %d shard(s): give every "
        "worker a shard (convert again with download_and_convert_data.py "
        "--num_shards=%d or a multiple, or run at most %d workers)"
        % (num_workers, split_name, " of " + dataset_dir if dataset_dir else "",
           len(files), num_workers, len(files)))
  return files[worker_index::num_workers]


def worker_split(cluster: ClusterConfig, split):
  """``split`` restricted to this worker's shards (sizes stay the split's)."""
  return dataclasses.replace(split, files=shard_files(
      split.files, cluster.num_workers, cluster.worker_index, split.split_name,
      split.dataset_dir))


def deployment(cluster: ClusterConfig, deploy, config=None):
  """model_deploy.DeploymentConfig ``deploy`` placed in the cluster; checks the
  training options (train.TrainConfig ``config``) the cluster's mode allows."""
  if config is not None and cluster.mode == "mwms":
    check_mwms_config(config)
  return dataclasses.replace(
      deploy, replica_id=cluster.worker_index,
      num_replicas=cluster.num_workers if cluster.mode == "ps" else 1,
      num_ps_tasks=cluster.num_ps, worker_job_name=cluster.task_type,
      worker_task=cluster.task_index)


def check_mwms_config(config):
  """Options MultiWorkerMirroredStrategy (no ps job) cannot honour."""
  if config.num_clones != 1:
    raise ValueError("--num_clones=%d: with MultiWorkerMirroredStrategy (a "
                     "cluster without a ps job) each worker runs one replica; "
                     "drop --num_clones or add a ps job" % config.num_clones)
  if config.sync_replicas:
    raise ValueError("--sync_replicas needs a ps job in the cluster; without "
                     "one, training is synchronous all-reduce already: drop "
                     "--sync_replicas")
  if config.mixed_precision:
    raise ValueError("--mixed_precision is not supported with "
                     "MultiWorkerMirroredStrategy (a cluster without a ps "
                     "job); drop it or add a ps job")


def wait_for_chief(master: str, session_config, poll_secs: float = 0.5,
                   timeout_secs: float = 1800) -> None:
  """Blocks a non-chief until the chief has initialised the shared variables.

  MonitoredTrainingSession's worker polls every 30 s (SessionManager's
  recovery_wait_secs), so a worker that starts a moment before the chief
  would idle for 30 s; this polls every ``poll_secs``. Call it with the
  training graph as the default graph, before the session is created.
  """
  import time
  from absl import logging
  from tf_compat import tf
  # The shared (global) variables; local ones are this worker's local_init_op's.
  uninitialized = tf.compat.v1.report_uninitialized_variables(
      tf.compat.v1.global_variables())
  deadline = time.time() + timeout_secs
  with tf.compat.v1.Session(master, config=session_config) as session:
    while True:
      if not len(session.run(uninitialized)):
        return
      if time.time() > deadline:
        raise RuntimeError("The chief did not initialise the variables within "
                           "%d s; is the chief task running?" % timeout_secs)
      logging.log_every_n(logging.INFO, "Waiting for the chief to initialise "
                          "the variables", 20)
      time.sleep(poll_secs)


def start_server(cluster: ClusterConfig, config=None):
  """This task's gRPC server (ps, chief or worker); ``.target`` is its master."""
  from tf_compat import tf
  return tf.distribute.Server(tf.train.ClusterSpec(cluster.server_cluster()),
                              job_name=cluster.task_type,
                              task_index=cluster.task_index, config=config,
                              start=True)


def make_strategy(cluster: ClusterConfig):
  """tf.compat.v1 MultiWorkerMirroredStrategy over the cluster's workers."""
  from tf_compat import tf
  resolver = tf.distribute.cluster_resolver.SimpleClusterResolver(
      tf.train.ClusterSpec(cluster.server_cluster()), task_type=cluster.task_type,
      task_id=cluster.task_index, rpc_layer="grpc")
  return tf.compat.v1.distribute.experimental.MultiWorkerMirroredStrategy(
      cluster_resolver=resolver)
