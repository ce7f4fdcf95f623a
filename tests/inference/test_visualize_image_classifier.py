"""Grad-CAM looks where the evidence is.

A tiny InceptionV3 is trained for a few dozen steps to tell films with a
bright round "lesion" (anywhere) from films without one. For a test film
with the lesion in a known place, the Grad-CAM heat inside that place must be
above the heat elsewhere -- for two different places, so a fixed bias of the
map cannot pass.
"""
import json
import os

import numpy as np
import pytest
from PIL import Image

from tf_compat import tf
from datasets import dataset_info
from inference import gradcam
from nets import nets_factory

SIZE = 96
DEPTH = 0.1
RADIUS = 9


def _film(rng, center=None):
  yy, xx = np.mgrid[:SIZE, :SIZE]
  image = 0.35 + 0.05 * rng.standard_normal((SIZE, SIZE))
  if center is not None:
    cy, cx = center
    image[(yy - cy) ** 2 + (xx - cx) ** 2 <= RADIUS ** 2] = 0.95
  return np.clip(image, 0, 1)


def _batch(rng, n):
  labels = rng.integers(0, 2, n)
  films = [_film(rng, tuple(rng.integers(RADIUS + 2, SIZE - RADIUS - 2, 2))
                 if label else None) for label in labels]
  images = np.repeat(np.stack(films)[..., None], 3, axis=3) * 2 - 1  # xray preset range
  return images.astype(np.float32), labels


def _train(train_dir, steps=60, batch=16, seed=0):
  rng = np.random.default_rng(seed)
  with tf.Graph().as_default():
    tf.compat.v1.set_random_seed(seed)
    images = tf.compat.v1.placeholder(tf.float32, [None, SIZE, SIZE, 3])
    labels = tf.compat.v1.placeholder(tf.int64, [None])
    # Batch norm frozen (is_training=False) so inference sees the same net.
    network_fn = nets_factory.get_network_fn("inception_v3", 2, is_training=False,
                                             depth_multiplier=DEPTH)
    logits, _ = network_fn(images, create_aux_logits=False)
    loss = tf.compat.v1.losses.sparse_softmax_cross_entropy(labels, logits)
    accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, 1), labels), tf.float32))
    train_op = tf.compat.v1.train.AdamOptimizer(3e-3).minimize(loss)
    saver = tf.compat.v1.train.Saver(tf.compat.v1.model_variables())
    with tf.compat.v1.Session() as sess:
      sess.run(tf.compat.v1.global_variables_initializer())
      for _ in range(steps):
        x, y = _batch(rng, batch)
        sess.run(train_op, {images: x, labels: y})
      x, y = _batch(rng, 64)
      held_out = sess.run(accuracy, {images: x, labels: y})
      print("held-out accuracy after %d steps: %.3f" % (steps, held_out))
      path = saver.save(sess, os.path.join(train_dir, "model.ckpt"), global_step=steps)
  return path, float(held_out)


@pytest.fixture(scope="module")
def lesion_model(tmp_path_factory):
  root = tmp_path_factory.mktemp("lesion")
  train_dir = root / "train"
  train_dir.mkdir()
  checkpoint, accuracy = _train(str(train_dir))
  dataset_info.write(dataset_info.DatasetInfo(
      name="lesion", class_names=["clear", "lesion"],
      splits={"train": dataset_info.SplitInfo(0, 0, [0, 0])}, channels=1,
      preprocessing={"channels": 1, "grayscale": True}), str(train_dir))
  with open(train_dir / "flags.json", "w") as f:
    json.dump({"model_name": "inception_v3", "depth_multiplier": DEPTH,
               "train_image_size": SIZE, "preprocessing_name": "xray"}, f)
  rng = np.random.default_rng(42)
  inputs = root / "inputs"
  inputs.mkdir()
  centers = {"upper_left": (30, 32), "lower_right": (66, 62)}
  for name, center in centers.items():
    film = (_film(rng, center) * 255).round().astype(np.uint8)
    Image.fromarray(film).save(inputs / ("%s.png" % name))
  (inputs / "broken.png").write_bytes(b"\x89PNG not really")
  return {"train_dir": train_dir, "checkpoint": checkpoint, "accuracy": accuracy,
          "inputs": inputs, "centers": centers, "root": root}


def test_gradcam_heat_is_on_the_lesion(lesion_model):
  assert lesion_model["accuracy"] >= 0.8, "the tiny net did not learn the lesion"
  out_dir = lesion_model["root"] / "heatmaps"
  written, failures = gradcam.run(gradcam.VisualizeOptions(
      checkpoint_path=str(lesion_model["train_dir"]),
      input=str(lesion_model["inputs"]), output_dir=str(out_dir),
      class_name="lesion", guided_backprop=True))
  assert [os.path.basename(f.path) for f in failures] == ["broken.png"]
  assert set(written) == set(lesion_model["centers"])
  yy, xx = np.mgrid[:SIZE, :SIZE]
  for name, (cy, cx) in lesion_model["centers"].items():
    path, explanation = written[name]
    assert explanation.class_index == 1
    inside = (yy - cy) ** 2 + (xx - cx) ** 2 <= (2 * RADIUS) ** 2
    cam = explanation.cam
    assert cam[inside].mean() > 1.5 * cam[~inside].mean(), name
    # the hottest pixel is near the lesion
    hy, hx = np.unravel_index(np.argmax(cam), cam.shape)
    assert abs(hy - cy) <= 30 and abs(hx - cx) <= 30, (name, hy, hx)
    with Image.open(path) as im:   # original | overlay | guided | guided Grad-CAM
      assert im.size == (4 * SIZE + 3 * 4, SIZE)
    guided = np.abs(explanation.guided - 0.5).mean(axis=2)
    assert guided[inside].mean() > guided[~inside].mean(), name
