"""Synthetic, medically shaped raw data in the layouts users actually have.

Every generator writes files the way the real sources ship them (Kaggle
diabetic retinopathy, Kermany OCT, class folders of chest films, NIH
ChestX-ray14, DICOM trees, TF-Slim flowers), so the demo and the tests run the
real converters. The class of every image is drawn into its pixels with a
signal that is large at the default sizes, so a small network learns it:

* fundus photos (``make_kaggle_dr``, ``make_image_folder(kind="fundus")``):
  an orange disc on a black, non-square frame; the grade is the number of
  dark-red lesion spots (``LESIONS_PER_GRADE`` per grade step);
* chest films (``make_image_folder(kind="xray")``, ``make_dicom``): grayscale
  lungs, heart and ribs; the stage is the density of small round opacities
  (``OPACITIES_PER_STAGE`` per stage step);
* OCT B-scans (``make_kermany_oct``): layered retina; CNV lifts the RPE in one
  dome, DME thickens the retina with dark cysts, DRUSEN adds small RPE bumps;
* ChestX-ray14 films (``make_chestxray14``): each finding has its own mark
  (large heart, basal fluid, one nodule, a mass, a dark collapsed lung);
* flowers (``make_flowers``): petals whose colour and shape name the class.

Everything is numpy + PIL (+ pydicom for DICOM), deterministic for a seed, and
quick (milliseconds per image). Each function returns a small dict describing
what it wrote (paths aligned with labels), for assertions in tests.

These images are synthetic: no patient data, and the patient identifiers in
CSVs and DICOM headers are made up.
"""
import csv
import io
import logging
import os
from typing import Dict, List, Sequence

import numpy as np
from PIL import Image

# Grade g of a fundus photo carries g * LESIONS_PER_GRADE lesion spots.
LESIONS_PER_GRADE = 1
# Stage s of a chest film carries s * OPACITIES_PER_STAGE small opacities.
OPACITIES_PER_STAGE = 10

DR_GRADES = ("0", "1", "2", "3", "4")
OCT_CLASSES = ("CNV", "DME", "DRUSEN", "NORMAL")
OCT_SPLITS = ("train", "val", "test")
CXR14_FINDINGS = ("Cardiomegaly", "Effusion", "Mass", "Nodule", "Pneumothorax")
FLOWER_CLASSES = ("daisy", "dandelion", "roses", "sunflowers", "tulips")
DICOM_TRANSFER_SYNTAXES = ("explicit_le", "jpeg2000", "jpeg_baseline")
DICOM_LABEL_TAG = "SeriesDescription"


# ---------------------------------------------------------------------------
# Drawing helpers (float images in [0, 1]).

def _grid(height, width):
  yy, xx = np.mgrid[0:height, 0:width]
  return yy.astype(np.float32), xx.astype(np.float32)


def _disc(yy, xx, cy, cx, r):
  """Anti-aliased filled circle: 1 inside, 0 outside, a 1-px soft edge."""
  dist = np.sqrt((yy - cy) ** 2 + (xx - cx) ** 2)
  return np.clip(r - dist + 0.5, 0.0, 1.0)


def _ellipse(yy, xx, cy, cx, ry, rx):
  dist = np.sqrt(((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2)
  return np.clip((1.0 - dist) * min(ry, rx) + 0.5, 0.0, 1.0)


def _place_points(rng, count, sample, min_dist, max_tries=4000):
  """Rejection-samples ``count`` points from ``sample()`` at least
  ``min_dist`` apart."""
  points = []
  tries = 0
  while len(points) < count:
    tries += 1
    if tries > max_tries:
      raise RuntimeError("could not place %d separated points; use a larger "
                         "size" % count)
    p = sample()
    if all((p[0] - q[0]) ** 2 + (p[1] - q[1]) ** 2 >= min_dist ** 2
           for q in points):
      points.append(p)
  return points


def _to_uint8(image):
  return np.clip(np.round(image * 255.0), 0, 255).astype(np.uint8)


def _to_uint16(image):
  return np.clip(np.round(image * 65535.0), 0, 65535).astype(np.uint16)


def _save(array, path, quality=95):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  image = Image.fromarray(array)
  if path.lower().endswith((".jpg", ".jpeg")):
    image.save(path, format="JPEG", quality=quality)
  else:
    image.save(path, format="PNG")
  return path


# ---------------------------------------------------------------------------
# Fundus photographs.

def draw_fundus(rng, size, num_lesions, right_eye=True):
  """A colour fundus photo: a bright disc in a black, wider-than-tall frame.

  Returns (uint8 HxWx3 array, lesion centres in pixel coordinates). Lesions
  are round dark-red spots (haemorrhage-like) well inside the disc, apart from
  each other and from the optic disc.
  """
  height = size
  width = int(round(size * 1.5)) // 2 * 2
  yy, xx = _grid(height, width)
  radius = 0.46 * height
  cy = height / 2.0 + rng.uniform(-0.02, 0.02) * height
  cx = width / 2.0 + rng.uniform(-0.12, 0.12) * height
  inside = _disc(yy, xx, cy, cx, radius)
  rr = np.sqrt((yy - cy) ** 2 + (xx - cx) ** 2) / radius
  brightness = rng.uniform(0.9, 1.1)
  shade = brightness * (1.0 - 0.18 * rr ** 2)
  base = np.array([0.78, 0.36, 0.14]) * rng.uniform(0.95, 1.05, size=3)
  image = shade[..., None] * base[None, None, :]
  image += rng.normal(0.0, 0.01, size=image.shape)
  # Optic disc: a pale spot on the nasal side; vessels: faint arcs from it.
  side = 1.0 if right_eye else -1.0
  oy, ox = cy, cx + side * 0.5 * radius
  optic_r = 0.13 * radius
  optic = _disc(yy, xx, oy, ox, optic_r)
  image = image * (1 - optic[..., None]) + optic[..., None] * np.array(
      [0.98, 0.85, 0.55])
  for k in range(4):
    angle = (k - 1.5) * 0.55 + rng.uniform(-0.1, 0.1)
    curve = np.abs((yy - oy) - np.tan(angle) * (xx - ox) * side) < 0.012 * height + 0.5
    behind = side * (xx - ox) < 0
    image = np.where((curve & behind)[..., None], image * 0.9, image)
  # Lesions.
  lesion_r = max(2.0, 0.05 * size)

  def sample():
    while True:
      rho = 0.72 * radius * np.sqrt(rng.uniform(0.0, 1.0))
      phi = rng.uniform(0.0, 2 * np.pi)
      p = cy + rho * np.sin(phi), cx + rho * np.cos(phi)
      # Keep lesions off the optic disc.
      if np.hypot(p[0] - oy, p[1] - ox) > optic_r + 2.5 * lesion_r:
        return p

  centres = _place_points(rng, num_lesions, sample, 3.2 * lesion_r)
  lesion_colour = np.array([0.24, 0.04, 0.03])
  for (ly, lx) in centres:
    spot = _disc(yy, xx, ly, lx, lesion_r * rng.uniform(0.9, 1.1))[..., None]
    image = image * (1 - spot) + spot * lesion_colour
  image = image * inside[..., None]
  # Camera noise in the black frame, so border cropping needs a threshold.
  image += (1 - inside[..., None]) * rng.uniform(0.0, 0.02, size=image.shape)
  return _to_uint8(image), centres


# ---------------------------------------------------------------------------
# Chest films.

def draw_chest_film(rng, size, num_opacities=0, findings=()):
  """A grayscale PA chest film, float in [0, 1] (bright = dense).

  ``num_opacities`` small round opacities are scattered over both lungs
  (pneumoconiosis-like). ``findings`` adds ChestX-ray14-like marks from
  ``CXR14_FINDINGS``. Returns (HxW float32, opacity centres).
  """
  h = w = size
  yy, xx = _grid(h, w)
  # Body: soft tissue, darker outside the chest outline.
  body = _ellipse(yy, xx, 0.55 * h, 0.5 * w, 0.6 * h, 0.47 * w)
  image = 0.12 + 0.43 * body * (0.9 + 0.1 * yy / h)
  lung_cy = 0.48 * h + rng.uniform(-0.02, 0.02) * h
  lungs = []
  for side in (-1, 1):
    cx = (0.5 + side * 0.2) * w + rng.uniform(-0.01, 0.01) * w
    lungs.append((lung_cy, cx))
  lung_ry, lung_rx = 0.3 * h, 0.14 * w
  lung_mask = np.zeros((h, w), np.float32)
  for (cy, cx) in lungs:
    lung_mask = np.maximum(lung_mask, _ellipse(yy, xx, cy, cx, lung_ry, lung_rx))
  image = image * (1 - lung_mask) + lung_mask * 0.2
  # Ribs: bright curved bands crossing the lungs.
  spacing = 0.075 * h
  phase = rng.uniform(0, spacing)
  ribs = np.zeros((h, w), np.float32)
  curve = 0.9 * ((xx - 0.5 * w) / w) ** 2 * h
  for k in range(12):
    y0 = 0.12 * h + phase + k * spacing
    ribs = np.maximum(ribs, np.clip(1.0 - np.abs(yy - y0 - curve) /
                                    (0.018 * h + 0.5), 0, 1))
  image += 0.09 * ribs * lung_mask
  # Heart: on the patient's left, i.e. the viewer's right.
  heart_r = 0.14 * h
  if "Cardiomegaly" in findings:
    heart_r = 0.22 * h
  heart = _ellipse(yy, xx, 0.62 * h, 0.56 * w, heart_r, heart_r * 1.1)
  image = np.maximum(image, 0.6 * heart)
  # Mediastinum.
  image = np.maximum(image, 0.5 * _ellipse(yy, xx, 0.35 * h, 0.5 * w, 0.2 * h,
                                           0.05 * w))

  def in_lung_sample(margin=0.8, upper=False):
    cy, cx = lungs[int(rng.integers(2))]
    rho = margin * np.sqrt(rng.uniform(0, 1))
    # The upper zones stay clear of the heart shadow.
    phi = rng.uniform(np.pi, 2 * np.pi) if upper else rng.uniform(0, 2 * np.pi)
    return cy + rho * lung_ry * np.sin(phi), cx + rho * lung_rx * np.cos(phi)

  if "Effusion" in findings:
    cy, cx = lungs[int(rng.integers(2))]
    level = cy + 0.35 * lung_ry
    fluid = (yy > level) * _ellipse(yy, xx, cy, cx, lung_ry * 1.05, lung_rx * 1.05)
    image = np.maximum(image, 0.62 * fluid)
  if "Pneumothorax" in findings:
    cy, cx = lungs[int(rng.integers(2))]
    outer = (np.sign(cx - 0.5 * w) * (xx - cx) > 0.1 * lung_rx)
    collapsed = outer * _ellipse(yy, xx, cy, cx, lung_ry, lung_rx)
    image = image * (1 - collapsed) + collapsed * 0.04
  if "Mass" in findings:
    my, mx = in_lung_sample(0.5, upper=True)
    image = np.maximum(image, 0.75 * _disc(yy, xx, my, mx, 0.09 * h))
  if "Nodule" in findings:
    ny, nx = in_lung_sample(0.7, upper=True)
    image = np.maximum(image, 0.9 * _disc(yy, xx, ny, nx, max(1.5, 0.045 * h)))
  # Small round opacities (ILO-style profusion).
  opacity_r = max(1.2, 0.022 * size)
  centres = []
  if num_opacities:
    centres = _place_points(rng, num_opacities, in_lung_sample,
                            2.6 * opacity_r, max_tries=20000)
    for (oy, ox) in centres:
      image += 0.3 * _disc(yy, xx, oy, ox, opacity_r)
  # Exposure and noise.
  gamma = rng.uniform(0.85, 1.15)
  image = np.clip(image, 0, 1) ** gamma
  image += rng.normal(0, 0.015, size=image.shape)
  return np.clip(image, 0, 1).astype(np.float32), centres


# ---------------------------------------------------------------------------
# OCT B-scans.

def draw_oct(rng, size, condition):
  """A grayscale OCT B-scan (uint8 HxW, wider than tall) for ``condition``
  in ``OCT_CLASSES``."""
  if condition not in OCT_CLASSES:
    raise ValueError("condition must be one of %s, not %r"
                     % (OCT_CLASSES, condition))
  h = size
  w = int(round(size * 1.25))
  yy, xx = _grid(h, w)
  xc = w * rng.uniform(0.42, 0.58)
  tilt = rng.uniform(-0.06, 0.06) * h
  rpe = 0.66 * h + tilt * (xx - w / 2) / w
  thickness = 0.22 * h
  pit = np.exp(-((xx - xc) / (0.1 * w)) ** 2)
  if condition == "DME":
    thickness = 0.36 * h
    pit = 0.15 * pit
  if condition == "CNV":
    dome = 0.15 * h * np.exp(-((xx - xc) / (0.11 * w)) ** 2)
    rpe_line = rpe - dome
  elif condition == "DRUSEN":
    bumps = np.zeros_like(xx)
    for bx in np.linspace(0.18, 0.82, int(rng.integers(5, 8))):
      bx = bx * w + rng.uniform(-0.02, 0.02) * w
      bumps += 0.06 * h * np.exp(-((xx - bx) / (0.03 * w)) ** 2)
    rpe_line = rpe - bumps
  else:
    rpe_line = rpe
  top = rpe - thickness * (1.0 - 0.55 * pit)
  if condition == "CNV":
    top = top - dome
  depth = (yy - top) / np.maximum(rpe_line - top, 1.0)
  retina = (depth >= 0) & (depth <= 1)
  image = np.full((h, w), 0.05, np.float32)
  # Inner layers: a bright nerve-fibre layer, then alternating bands.
  bands = 0.32 + 0.12 * np.cos(depth * 5 * np.pi)
  bands = np.where(depth < 0.15, 0.62, bands)
  image = np.where(retina, bands, image)
  # RPE: a bright band; choroid below fades out.
  rpe_band = np.clip(1.0 - np.abs(yy - rpe_line) / (0.02 * h + 0.5), 0, 1)
  image = np.maximum(image, 0.95 * rpe_band)
  below = yy > rpe_line
  image = np.where(below, np.maximum(image, 0.45 * np.exp(
      -(yy - rpe_line) / (0.12 * h))), image)
  if condition == "CNV":
    material = (yy > rpe_line) & (yy < rpe) & (dome > 0.01 * h)
    image = np.where(material, 0.8, image)
    fluid = _ellipse(yy, xx, rpe_line.min() - 0.05 * h, xc, 0.04 * h, 0.08 * w)
    image = image * (1 - fluid) + fluid * 0.04
  if condition == "DRUSEN":
    material = (yy > rpe_line) & (yy < rpe)
    image = np.where(material, 0.7, image)
  if condition == "DME":
    for _ in range(int(rng.integers(3, 5))):
      cx = xc + rng.uniform(-0.2, 0.2) * w
      cy = float(np.interp(cx, xx[0], (top[0] + rpe_line[0]) / 2))
      cyst = _ellipse(yy, xx, cy, cx, 0.06 * h, 0.05 * w)
      image = image * (1 - cyst) + cyst * 0.03
  # Multiplicative speckle.
  image = image * rng.gamma(4.0, 0.25, size=image.shape)
  image = image * rng.uniform(0.85, 1.1)
  return _to_uint8(np.clip(image, 0, 1))


# ---------------------------------------------------------------------------
# Flowers.

_FLOWER_STYLE = {
    # petals RGB, centre RGB, petal count, petal length, petal width, centre r
    "daisy": ((0.97, 0.97, 0.95), (0.95, 0.8, 0.1), 14, 0.36, 0.07, 0.1),
    "dandelion": ((0.98, 0.85, 0.1), (0.9, 0.7, 0.05), 30, 0.33, 0.03, 0.08),
    "roses": ((0.8, 0.05, 0.1), (0.55, 0.0, 0.05), 7, 0.25, 0.16, 0.14),
    "sunflowers": ((1.0, 0.8, 0.0), (0.3, 0.15, 0.05), 18, 0.42, 0.08, 0.2),
    "tulips": ((0.9, 0.3, 0.65), (0.6, 0.1, 0.4), 4, 0.3, 0.18, 0.06),
}


def draw_flower(rng, size, name):
  style = _FLOWER_STYLE.get(name)
  if style is None:
    palette = rng.uniform(0.2, 1.0, size=3)
    style = (tuple(palette), tuple(palette * 0.5), 9, 0.32, 0.08, 0.1)
  petal, centre, count, length, width, centre_r = style
  h = w = size
  yy, xx = _grid(h, w)
  image = np.zeros((h, w, 3), np.float32) + np.array([0.2, 0.45, 0.15])
  image *= rng.uniform(0.7, 1.1, size=(1, 1, 3))
  image += rng.normal(0, 0.03, size=image.shape)
  cy = h * rng.uniform(0.4, 0.6)
  cx = w * rng.uniform(0.4, 0.6)
  scale = rng.uniform(0.85, 1.1) * size
  turn = rng.uniform(0, 2 * np.pi)
  for k in range(count):
    phi = turn + 2 * np.pi * k / count
    py = cy + np.sin(phi) * length * scale / 2
    px = cx + np.cos(phi) * length * scale / 2
    # Petal: an ellipse along the direction phi.
    u = (yy - py) * np.sin(phi) + (xx - px) * np.cos(phi)
    v = -(yy - py) * np.cos(phi) + (xx - px) * np.sin(phi)
    mask = np.clip((1 - np.sqrt((u / (length * scale / 2)) ** 2 +
                                (v / (width * scale / 2)) ** 2)) * 4, 0, 1)
    image = image * (1 - mask[..., None]) + mask[..., None] * np.array(petal)
  mask = _disc(yy, xx, cy, cx, centre_r * scale)[..., None]
  image = image * (1 - mask) + mask * np.array(centre)
  return _to_uint8(np.clip(image, 0, 1))


# ---------------------------------------------------------------------------
# Layouts.

def make_image_folder(root, class_names=("0", "1", "2", "3"), per_class=12,
                      size=64, bit_depth=8, kind="xray", seed=0):
  """One folder per class: ``root/<class>/<class>_<n>.png``.

  The signal grows with the class index ``i`` (the position in
  ``class_names``): ``kind="xray"`` draws chest films with
  ``i * OPACITIES_PER_STAGE`` small round opacities (pneumoconiosis stages),
  saved as 8-bit or, with ``bit_depth=16``, 16-bit grayscale PNG;
  ``kind="fundus"`` draws fundus photos (JPEG) with ``i * LESIONS_PER_GRADE``
  lesions.
  """
  if bit_depth not in (8, 16):
    raise ValueError("bit_depth must be 8 or 16, not %r" % (bit_depth,))
  if kind not in ("xray", "fundus"):
    raise ValueError("kind must be 'xray' or 'fundus', not %r" % (kind,))
  if kind == "fundus" and bit_depth != 8:
    raise ValueError("fundus photos are 8-bit JPEG; use bit_depth=8")
  rng = np.random.default_rng(seed)
  files, labels, signal = [], [], []
  for index, name in enumerate(class_names):
    for n in range(per_class):
      if kind == "xray":
        count = index * OPACITIES_PER_STAGE
        film, _ = draw_chest_film(rng, size, num_opacities=count)
        array = _to_uint16(film) if bit_depth == 16 else _to_uint8(film)
        path = os.path.join(root, name, "%s_%03d.png" % (name, n))
      else:
        count = index * LESIONS_PER_GRADE
        array, _ = draw_fundus(rng, size, count, right_eye=bool(n % 2))
        path = os.path.join(root, name, "%s_%03d.jpeg" % (name, n))
      files.append(_save(array, path))
      labels.append(name)
      signal.append(count)
  return {"root": root, "files": files, "labels": labels,
          "class_names": list(class_names), "signal_counts": signal,
          "bit_depth": bit_depth, "kind": kind}


def make_kaggle_dr(root, num_patients=30, size=96, seed=0):
  """Kaggle diabetic retinopathy: ``root/train/{pid}_{left,right}.jpeg`` and
  ``root/trainLabels.csv`` (``image,level``).

  Each eye gets a grade 0-4 (cycled over patients so that every grade is
  equally common, the two eyes usually one grade apart) and
  ``grade * LESIONS_PER_GRADE`` lesions. Photos are 1.5x wider than tall with
  a black frame, as fundus cameras deliver them.
  """
  rng = np.random.default_rng(seed)
  files, images, grades, patients = [], [], [], []
  order = rng.permutation(num_patients)
  for p in range(num_patients):
    pid = 10 + 7 * p + int(seed) * 1000
    base = int(order[p]) % len(DR_GRADES)
    for eye in ("left", "right"):
      if eye == "left":
        grade = base
      else:
        grade = int(np.clip(base + rng.integers(-1, 2), 0, 4))
      stem = "%d_%s" % (pid, eye)
      array, _ = draw_fundus(rng, size, grade * LESIONS_PER_GRADE,
                             right_eye=(eye == "right"))
      files.append(_save(array, os.path.join(root, "train", stem + ".jpeg")))
      images.append(stem)
      grades.append(grade)
      patients.append(str(pid))
  csv_path = os.path.join(root, "trainLabels.csv")
  with open(csv_path, "w", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(["image", "level"])
    writer.writerows(zip(images, grades))
  return {"root": root, "csv": csv_path, "files": files, "images": images,
          "labels": [str(g) for g in grades], "grades": grades,
          "patients": patients, "class_names": list(DR_GRADES)}


def make_kermany_oct(root, per_class=(6, 2, 2), size=64, seed=0):
  """Kermany 2018 OCT: ``root/{train,val,test}/{CNV,DME,DRUSEN,NORMAL}/
  {CLASS}-{patient}-{n}.jpeg``, grayscale JPEG B-scans.

  ``per_class`` gives the number of images per class in train, val and test.
  """
  if len(per_class) != 3:
    raise ValueError("per_class is (train, val, test) counts, got %r"
                     % (per_class,))
  rng = np.random.default_rng(seed)
  files, labels, splits, patients = [], [], [], []
  patient = 100000 + int(seed) * 10000
  for split, count in zip(OCT_SPLITS, per_class):
    for condition in OCT_CLASSES:
      for n in range(count):
        if n % 2 == 0:
          patient += 1
        name = "%s-%d-%d.jpeg" % (condition, patient, n % 2 + 1)
        array = draw_oct(rng, size, condition)
        files.append(_save(array, os.path.join(root, split, condition, name)))
        labels.append(condition)
        splits.append(split)
        patients.append(str(patient))
  return {"root": root, "files": files, "labels": labels, "splits": splits,
          "patients": patients, "class_names": list(OCT_CLASSES)}


def make_chestxray14(root, num_patients=20, images_per_patient=2, size=64,
                     seed=0):
  """NIH ChestX-ray14: ``root/images/{patient:08d}_{k:03d}.png`` and
  ``root/Data_Entry_2017.csv`` with the NIH columns (``Image Index``,
  ``Finding Labels`` joined by ``|`` or ``No Finding``, ``Follow-up #``,
  ``Patient ID``, ...).

  Findings (``CXR14_FINDINGS``) appear independently, each with its own
  visible mark; about a third of the films have none.
  """
  rng = np.random.default_rng(seed)
  files, labels, rows, patients = [], [], [], []
  for p in range(num_patients):
    pid = p + 1 + int(seed) * 100000
    age = int(rng.integers(20, 80))
    sex = "M" if rng.uniform() < 0.5 else "F"
    for k in range(images_per_patient):
      present = [f for f in CXR14_FINDINGS if rng.uniform() < 0.25]
      film, _ = draw_chest_film(rng, size, findings=present)
      index = "%08d_%03d.png" % (pid, k)
      files.append(_save(_to_uint8(film), os.path.join(root, "images", index)))
      labels.append(present)
      patients.append(str(pid))
      rows.append([index, "|".join(present) or "No Finding", k, pid, age, sex,
                   "PA", 2500, 2048, 0.143, 0.143])
  csv_path = os.path.join(root, "Data_Entry_2017.csv")
  with open(csv_path, "w", newline="") as f:
    # The NIH header really is unquoted, so pandas splits the bracketed names.
    f.write("Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,"
            "Patient Gender,View Position,OriginalImage[Width,Height],"
            "OriginalImagePixelSpacing[x,y]\n")
    writer = csv.writer(f)
    writer.writerows(rows)
  return {"root": root, "csv": csv_path, "files": files, "labels": labels,
          "patients": patients, "class_names": list(CXR14_FINDINGS)}


def make_dicom(root, num_patients=8, per_patient=2, size=64,
               photometric="MONOCHROME2", bits_stored=12,
               transfer_syntax="explicit_le", label_source="csv", seed=0):
  """A DICOM tree ``root/study_{p:03d}/image_{k:02d}.dcm`` of chest films
  (DX, stage ``i`` = ``i * OPACITIES_PER_STAGE`` opacities, classes "0"-"3").

  * Fake PatientID / PatientName / PatientBirthDate (identifying on purpose,
    so tests can check they never reach records).
  * RescaleSlope 2, RescaleIntercept -1024; WindowCenter/Width cover the
    film's range in rescaled (modality) units.
  * ``photometric="MONOCHROME1"`` stores inverted values (dense = dark), as
    some CR/DX systems do; displayed correctly they look like MONOCHROME2.
  * ``bits_stored`` 12 or 16 in 16-bit words; ``transfer_syntax``:
    ``explicit_le`` (uncompressed), ``jpeg2000`` (lossless, encoded by
    pydicom + pylibjpeg-openjpeg) or ``jpeg_baseline`` (8-bit JPEG via PIL;
    forces bits_stored=8).
  * ``label_source="csv"`` writes ``root/labels.csv`` (``file,label``, file
    relative to root); ``"tag"`` writes the label into the
    ``DICOM_LABEL_TAG`` (SeriesDescription) header element instead.
  """
  import pydicom
  from pydicom.dataset import Dataset, FileMetaDataset
  from pydicom.encaps import encapsulate
  from pydicom import uid as uids

  if photometric not in ("MONOCHROME1", "MONOCHROME2"):
    raise ValueError("photometric must be MONOCHROME1 or MONOCHROME2")
  if transfer_syntax not in DICOM_TRANSFER_SYNTAXES:
    raise ValueError("transfer_syntax must be one of %s, not %r"
                     % (DICOM_TRANSFER_SYNTAXES, transfer_syntax))
  if label_source not in ("csv", "tag"):
    raise ValueError("label_source must be 'csv' or 'tag'")
  if transfer_syntax == "jpeg_baseline":
    bits_stored = 8
  # The JPEG 2000 encoder logs every tile at INFO.
  logging.getLogger("openjpeg").setLevel(logging.WARNING)
  if bits_stored not in (8, 12, 16):
    raise ValueError("bits_stored must be 12 or 16 (8 with jpeg_baseline)")
  ts_uid = {"explicit_le": uids.ExplicitVRLittleEndian,
            "jpeg2000": uids.JPEG2000Lossless,
            "jpeg_baseline": uids.JPEGBaseline8Bit}[transfer_syntax]
  bits_allocated = 8 if bits_stored == 8 else 16
  stored_max = (1 << bits_stored) - 1
  lo, hi = int(stored_max * 0.05), int(stored_max * 0.95)
  slope, intercept = 2.0, -1024.0
  class_names = ("0", "1", "2", "3")
  rng = np.random.default_rng(seed)
  files, rel_files, labels, patient_ids = [], [], [], []
  entropy = ["slim-med-demo", str(seed)]
  counter = 0
  for p in range(num_patients):
    patient_id = "DEMO%05d" % (int(seed) * 1000 + p + 1)
    patient_name = "DEMO^PATIENT%d" % (p + 1)
    study_uid = uids.generate_uid(entropy_srcs=entropy + ["study", str(p)])
    series_uid = uids.generate_uid(entropy_srcs=entropy + ["series", str(p)])
    for k in range(per_patient):
      label = class_names[counter % len(class_names)]
      counter += 1
      film, _ = draw_chest_film(
          rng, size, num_opacities=int(label) * OPACITIES_PER_STAGE)
      values = film if photometric == "MONOCHROME2" else 1.0 - film
      stored = np.round(lo + values * (hi - lo)).astype(
          np.uint8 if bits_allocated == 8 else np.uint16)
      modality = stored.astype(np.float64) * slope + intercept
      centre = float((modality.max() + modality.min()) / 2)
      width = float(modality.max() - modality.min() + 1)
      sop_uid = uids.generate_uid(entropy_srcs=entropy + ["sop", str(p), str(k)])

      meta = FileMetaDataset()
      meta.MediaStorageSOPClassUID = uids.DigitalXRayImageStorageForPresentation
      meta.MediaStorageSOPInstanceUID = sop_uid
      meta.TransferSyntaxUID = uids.ExplicitVRLittleEndian
      ds = Dataset()
      ds.file_meta = meta
      ds.SOPClassUID = meta.MediaStorageSOPClassUID
      ds.SOPInstanceUID = sop_uid
      ds.StudyInstanceUID = study_uid
      ds.SeriesInstanceUID = series_uid
      ds.PatientID = patient_id
      ds.PatientName = patient_name
      ds.PatientBirthDate = "19%02d0101" % (40 + p % 50)
      ds.PatientSex = "M" if p % 2 else "F"
      ds.StudyDate = "20200101"
      ds.Modality = "DX"
      ds.BodyPartExamined = "CHEST"
      ds.ViewPosition = "PA"
      ds.SeriesDescription = label if label_source == "tag" else "CHEST PA"
      ds.InstanceNumber = k + 1
      ds.Rows, ds.Columns = stored.shape
      ds.SamplesPerPixel = 1
      ds.PhotometricInterpretation = photometric
      ds.BitsAllocated = bits_allocated
      ds.BitsStored = bits_stored
      ds.HighBit = bits_stored - 1
      ds.PixelRepresentation = 0
      ds.RescaleSlope = slope
      ds.RescaleIntercept = intercept
      ds.RescaleType = "US"
      ds.WindowCenter = round(centre, 1)
      ds.WindowWidth = round(width, 1)
      if transfer_syntax == "explicit_le":
        ds.PixelData = stored.tobytes()
      elif transfer_syntax == "jpeg2000":
        ds.PixelData = stored.tobytes()
        ds.compress(ts_uid, stored, generate_instance_uid=False)
      else:
        buf = io.BytesIO()
        Image.fromarray(stored).save(buf, format="JPEG", quality=95)
        ds.PixelData = encapsulate([buf.getvalue()])
        ds["PixelData"].VR = "OB"
        ds.LossyImageCompression = "01"
        meta.TransferSyntaxUID = ts_uid
      rel = os.path.join("study_%03d" % (p + 1), "image_%02d.dcm" % (k + 1))
      path = os.path.join(root, rel)
      os.makedirs(os.path.dirname(path), exist_ok=True)
      ds.save_as(path, enforce_file_format=True)
      files.append(path)
      rel_files.append(rel.replace(os.sep, "/"))
      labels.append(label)
      patient_ids.append(patient_id)
  labels_file = None
  if label_source == "csv":
    labels_file = os.path.join(root, "labels.csv")
    with open(labels_file, "w", newline="") as f:
      writer = csv.writer(f)
      writer.writerow(["file", "label"])
      writer.writerows(zip(rel_files, labels))
  return {"root": root, "files": files, "relative_files": rel_files,
          "labels": labels, "class_names": list(class_names),
          "patient_ids": patient_ids, "labels_file": labels_file,
          "label_tag": DICOM_LABEL_TAG if label_source == "tag" else None,
          "photometric": photometric, "bits_stored": bits_stored,
          "transfer_syntax": str(ts_uid), "rescale": (slope, intercept)}


def make_flowers(root, per_class=8, size=64, class_names=FLOWER_CLASSES,
                 seed=0):
  """TF-Slim flowers: ``root/flower_photos/<class>/<class>_<n>.jpg``."""
  rng = np.random.default_rng(seed)
  files, labels = [], []
  for name in class_names:
    for n in range(per_class):
      array = draw_flower(rng, size, name)
      path = os.path.join(root, "flower_photos", name, "%s_%03d.jpg" % (name, n))
      files.append(_save(array, path))
      labels.append(name)
  return {"root": root, "files": files, "labels": labels,
          "class_names": list(class_names)}


LAYOUTS = {
    "image_folder": make_image_folder,
    "kaggle_dr": make_kaggle_dr,
    "kermany_oct": make_kermany_oct,
    "chestxray14": make_chestxray14,
    "dicom": make_dicom,
    "flowers": make_flowers,
}
