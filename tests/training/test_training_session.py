"""What a training run asks of its session (training/train.py): the training
input without tf.data's autotuning thread.
"""
import pytest

from tf_compat import tf
from datasets import dataset_factory
from nets import model_spec
from training import train
from tests.training import record_fixtures

pytestmark = pytest.mark.slow

STEPS = 3


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory):
  return record_fixtures.write_dataset(
      tmp_path_factory.mktemp("data") / "tfrecords", name="diabetic", size=48,
      channels=3, splits={"train": [4, 4, 4, 4]})


def _config(train_dir, dataset_dir, **kwargs):
  values = dict(train_dir=train_dir, dataset_dir=dataset_dir, depth_multiplier=0.1,
                train_image_size=107, batch_size=4, max_number_of_steps=STEPS,
                num_readers=1, num_preprocessing_threads=1, num_image_summaries=2,
                log_every_n_steps=100, save_summaries_secs=600)
  values.update(kwargs)
  return train.TrainConfig(**values)


def test_training_input_runs_without_the_autotune_model(dataset_dir, tmp_path):
  config = _config(str(tmp_path / "train"), dataset_dir)
  split = dataset_factory.get_split(None, "train", dataset_dir)
  spec = model_spec.build(config.model_name, split.info,
                          depth_multiplier=config.depth_multiplier,
                          image_size=config.train_image_size)
  made = []
  original = tf.compat.v1.data.make_one_shot_iterator

  def make_one_shot_iterator(dataset):
    made.append(dataset)
    return original(dataset)

  with tf.Graph().as_default(), pytest.MonkeyPatch.context() as patch:
    patch.setattr(tf.compat.v1.data, "make_one_shot_iterator", make_one_shot_iterator)
    train.network_and_inputs(config, spec, split)
    assert len(made) == 1
    assert made[0].options().autotune.enabled is False
