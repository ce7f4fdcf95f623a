"""Losses against hand computations on tiny batches."""
import numpy as np
import pytest

from tf_compat import tf
from datasets import dataset_factory
from training import losses
from tests.training import record_fixtures


def _eval(build):
  with tf.Graph().as_default():
    value = build()
    total = tf.compat.v1.losses.get_total_loss(add_regularization_losses=False)
    with tf.compat.v1.Session() as sess:
      return sess.run([value, total])


def _log_softmax(z):
  z = z - z.max(axis=1, keepdims=True)
  return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


LOGITS = np.array([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3], [-1.0, 3.0, 0.0],
                   [0.0, 0.0, 2.0]], np.float32)
LABELS = np.array([0, 2, 1, 1])


def test_auto_class_weights_are_sklearn_balanced():
  from sklearn.utils.class_weight import compute_class_weight
  counts = [30, 6, 0, 4]
  y = np.repeat([0, 1, 3], [30, 6, 4])
  expected = compute_class_weight("balanced", classes=np.array([0, 1, 3]), y=y)
  got = losses.auto_class_weights(counts)
  np.testing.assert_allclose(got[[0, 1, 3]], expected, rtol=1e-6)
  assert got[2] == 0.0
  # 40 / (3 * n_c) by hand.
  np.testing.assert_allclose(got[[0, 1, 3]], [40 / 90, 40 / 18, 40 / 12], rtol=1e-6)


def test_unweighted_softmax_loss_is_mean_cross_entropy():
  ce = -_log_softmax(LOGITS.astype(np.float64))[np.arange(4), LABELS]
  value, total = _eval(lambda: losses.softmax_loss(LOGITS, LABELS, 3))
  assert value == pytest.approx(ce.mean(), rel=1e-5)
  assert total == pytest.approx(value)


def test_class_weights_change_the_loss_as_computed_by_hand():
  weights = [1.0, 4.0, 0.5]
  ce = -_log_softmax(LOGITS.astype(np.float64))[np.arange(4), LABELS]
  expected = np.mean(np.array(weights)[LABELS] * ce)
  value, _ = _eval(lambda: losses.softmax_loss(LOGITS, LABELS, 3, class_weights=weights))
  assert value == pytest.approx(expected, rel=1e-5)
  plain, _ = _eval(lambda: losses.softmax_loss(LOGITS, LABELS, 3))
  assert value != pytest.approx(plain, rel=1e-3)


def test_label_smoothing_focal_and_loss_weight():
  logp = _log_softmax(LOGITS.astype(np.float64))
  onehot = np.eye(3)[LABELS]
  q = onehot * 0.9 + 0.1 / 3
  gamma = 2.0
  expected = np.mean(-(q * (1 - np.exp(logp)) ** gamma * logp).sum(axis=1)) * 0.4
  value, _ = _eval(lambda: losses.softmax_loss(
      LOGITS, LABELS, 3, label_smoothing=0.1, focal_gamma=gamma, loss_weight=0.4))
  assert value == pytest.approx(expected, rel=1e-5)


def test_multilabel_loss_equals_hand_computation():
  logits = np.array([[1.5, -0.5], [-2.0, 0.3], [0.2, 2.2]], np.float32)
  y = np.array([[1, 0], [0, 1], [1, 1]])
  # Split statistics: N=10 examples, positives per finding 2 and 7.
  wp, wn = losses.multilabel_auto_weights([2, 7], 10)
  np.testing.assert_allclose(wp, [0.8, 0.3], rtol=1e-6)   # negatives / N
  np.testing.assert_allclose(wn, [0.2, 0.7], rtol=1e-6)   # positives / N
  s = 1 / (1 + np.exp(-logits.astype(np.float64)))
  per = -(np.array([0.8, 0.3]) * y * np.log(s) + np.array([0.2, 0.7]) * (1 - y) * np.log(1 - s))
  value, _ = _eval(lambda: losses.sigmoid_loss(logits, y, wp.tolist(), wn.tolist()))
  assert value == pytest.approx(per.mean(), rel=1e-5)
  # Unweighted: plain mean sigmoid cross-entropy.
  plain = -(y * np.log(s) + (1 - y) * np.log(1 - s)).mean()
  value, _ = _eval(lambda: losses.sigmoid_loss(logits, y))
  assert value == pytest.approx(plain, rel=1e-5)


def test_loss_config_reads_weights_from_the_split(tmp_path):
  root = record_fixtures.write_dataset(tmp_path / "mc", splits={"train": [6, 2]}, size=8)
  split = dataset_factory.get_split("tiny", "train", root)
  config = losses.LossConfig(split, "auto")
  np.testing.assert_allclose(config.class_weights, [8 / 12, 8 / 4], rtol=1e-6)
  assert losses.LossConfig(split, "1,3").class_weights == [1.0, 3.0]
  with pytest.raises(ValueError, match="2 classes"):
    losses.LossConfig(split, "1,2,3")
  root = record_fixtures.write_dataset(tmp_path / "ml", splits={"train": [3, 1]},
                                       size=8, multilabel=True)
  split = dataset_factory.get_split("tiny", "train", root)
  config = losses.LossConfig(split, "auto")
  np.testing.assert_allclose(config.positive_weights, [1 / 4, 3 / 4])
  np.testing.assert_allclose(config.negative_weights, [3 / 4, 1 / 4])


def test_loss_config_with_labels_offset_has_the_nets_classes(tmp_path):
  """--labels_offset=1: class 0 (background, no examples) is not modelled; the
  loss takes 3-wide logits and labels already shifted by the input pipeline."""
  root = record_fixtures.write_dataset(tmp_path, splits={"train": [0, 6, 2, 4]}, size=8)
  split = dataset_factory.get_split("tiny", "train", root)
  config = losses.LossConfig(split, "auto", labels_offset=1)
  assert config.num_classes == 3
  np.testing.assert_allclose(config.class_weights, [12 / 18, 12 / 6, 12 / 12], rtol=1e-6)
  # Explicit weights are per dataset class (as labels.txt lists them).
  assert losses.LossConfig(split, "9,1,2,3", labels_offset=1).class_weights == [1, 2, 3]
  ce = -_log_softmax(LOGITS.astype(np.float64))[np.arange(4), LABELS]
  value, _ = _eval(lambda: config.add(LOGITS, LABELS))
  w = np.array(config.class_weights)[LABELS]
  assert value == pytest.approx(np.mean(w * ce), rel=1e-5)
