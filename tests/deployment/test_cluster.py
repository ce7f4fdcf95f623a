"""deployment/cluster.py: TF_CONFIG and the host flags -> roles, modes, shards."""
import json

import pytest

from deployment import cluster as cluster_lib
from deployment import model_deploy


def _tf_config(cluster, task_type, index=0):
  return json.dumps({"cluster": cluster, "task": {"type": task_type, "index": index}})


PS = {"chief": ["h0:1"], "worker": ["h1:1", "h2:1"], "ps": ["h3:1"],
      "evaluator": ["h4:1"]}


def test_roles_with_a_chief_job():
  chief = cluster_lib.parse_tf_config(_tf_config(PS, "chief"))
  assert (chief.role, chief.is_chief, chief.worker_index) == ("chief", True, 0)
  assert (chief.mode, chief.num_workers, chief.num_ps) == ("ps", 3, 1)
  worker = cluster_lib.parse_tf_config(_tf_config(PS, "worker", 1))
  assert (worker.role, worker.is_chief, worker.worker_index) == ("worker", False, 2)
  assert worker.device_filters() == ["/job:ps", "/job:worker/task:1"]
  assert "evaluator" not in worker.server_cluster()
  assert cluster_lib.parse_tf_config(_tf_config(PS, "ps")).role == "ps"
  # With a chief job, worker 0 is not the chief.
  worker0 = cluster_lib.parse_tf_config(_tf_config(PS, "worker", 0))
  assert (worker0.is_chief, worker0.worker_index) == (False, 1)
  assert cluster_lib.parse_tf_config(_tf_config(PS, "evaluator")).role == "evaluator"
  # Placement: replica 0 is chief:0, replica 2 is worker:1 (not worker:2).
  deploy = cluster_lib.deployment(worker, model_deploy.DeploymentConfig())
  assert deploy.inputs_device() == "/job:worker/task:1/device:CPU:0"
  assert not deploy.is_chief and deploy.num_replicas == 3
  assert deploy.stop_grace_period_secs < 10


def test_master_job_is_the_chief_else_worker_0():
  master = {"master": ["h0:1"], "worker": ["h1:1"]}
  assert cluster_lib.parse_tf_config(_tf_config(master, "master")).is_chief
  workers = {"worker": ["h0:1", "h1:1"]}
  first = cluster_lib.parse_tf_config(_tf_config(workers, "worker", 0))
  second = cluster_lib.parse_tf_config(_tf_config(workers, "worker", 1))
  assert first.is_chief and not second.is_chief
  assert first.mode == "mwms" and second.worker_index == 1
  assert first.device_filters() == []


def test_no_cluster_means_a_single_machine():
  assert cluster_lib.resolve({}) is None
  assert cluster_lib.resolve({"TF_CONFIG": ""}) is None
  assert cluster_lib.resolve({"TF_CONFIG": '{"task": {"type": "worker"}}'}) is None


def test_host_flags_build_the_same_structure():
  from_flags = cluster_lib.resolve({}, ["h3:1"], ["h0:1", "h1:1"], "worker", 1)
  from_env = cluster_lib.resolve({"TF_CONFIG": _tf_config(
      {"worker": ["h0:1", "h1:1"], "ps": ["h3:1"]}, "worker", 1)})
  assert from_flags.cluster == from_env.cluster
  assert (from_flags.task_type, from_flags.task_index) == ("worker", 1)


@pytest.mark.parametrize("environ, flags, words", [
    ({"TF_CONFIG": "{cluster"}, {}, ["TF_CONFIG", "JSON"]),
    ({"TF_CONFIG": _tf_config({"workers": ["h:1"]}, "workers")}, {},
     ["TF_CONFIG", "unknown job 'workers'"]),
    ({"TF_CONFIG": _tf_config({"worker": ["h:1"]}, "worker", 3)}, {},
     ["TF_CONFIG", "worker:3", "1 tasks"]),
    ({"TF_CONFIG": _tf_config({"worker": ["nohost"]}, "worker")}, {},
     ["host:port"]),
    ({"TF_CONFIG": _tf_config({"ps": ["h:1"]}, "ps")}, {}, ["no 'chief' and no 'worker'"]),
    ({"TF_CONFIG": _tf_config({"chief": ["a:1", "b:1"]}, "chief")}, {}, ["one chief"]),
    ({"TF_CONFIG": json.dumps({"cluster": {"worker": ["h:1"]}})}, {}, ["'task'"]),
    ({"TF_CONFIG": _tf_config({"worker": ["h:1"]}, "worker")},
     {"worker_hosts": ["h:1"], "job_name": "worker"}, ["TF_CONFIG", "--ps_hosts"]),
    ({}, {"worker_hosts": ["h:1"]}, ["--job_name"]),
    ({}, {"job_name": "worker"}, ["--worker_hosts"]),
])
def test_mistakes_are_one_line_naming_the_variable_or_flag(environ, flags, words):
  with pytest.raises(ValueError) as err:
    cluster_lib.resolve(environ, **flags)
  message = str(err.value)
  assert "\n" not in message
  for word in words:
    assert word in message


def test_tf_slim_flags_must_agree_with_the_cluster():
  cluster = cluster_lib.parse_tf_config(_tf_config(PS, "worker"))
  cluster_lib.check_flags(cluster, 0, 1, "")
  cluster_lib.check_flags(cluster, 1, 3, "")
  for args, flag in (((2, 1, ""), "--num_ps_tasks=2"), ((0, 2, ""), "--worker_replicas=2"),
                     ((0, 1, "grpc://x:1"), "--master")):
    with pytest.raises(ValueError, match=flag):
      cluster_lib.check_flags(cluster, *args)


def test_every_worker_reads_its_own_shards():
  files = ["s%02d" % i for i in range(24)]
  parts = [cluster_lib.shard_files(files, 3, i) for i in range(3)]
  assert sorted(sum(parts, [])) == files and all(len(p) == 8 for p in parts)
  assert not set(parts[0]) & set(parts[1])
  with pytest.raises(ValueError) as err:
    cluster_lib.shard_files(files[:2], 3, 0, "train", "/data")
  assert "\n" not in str(err.value)
  assert "3 training workers" in str(err.value) and "--num_shards" in str(err.value)


def test_mwms_rejects_what_it_cannot_honour():
  from training import train
  cluster = cluster_lib.parse_tf_config(_tf_config({"worker": ["a:1", "b:1"]}, "worker"))
  for change, flag in ((dict(sync_replicas=True), "--sync_replicas"),
                       (dict(num_clones=2), "--num_clones"),
                       (dict(mixed_precision=True), "--mixed_precision")):
    with pytest.raises(ValueError, match=flag):
      cluster_lib.deployment(cluster, model_deploy.DeploymentConfig(),
                             train.TrainConfig(train_dir="t", dataset_dir="d", **change))


def test_converter_default_shards_divide_common_worker_counts():
  from datasets import convert
  default = convert.Config("x", "y").num_shards
  assert all(default % n == 0 for n in (1, 2, 3, 4, 6, 8))
