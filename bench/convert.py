r"""Benchmark: converting fundus-sized JPEGs to 299 px records, the tutorial way
against slim-med's converter, in one run; then peak memory for N vs 10N images.

  python bench/convert.py                       # ~2 minutes on 2 idle cores
  python bench/convert.py --num_images=200 --width=4000 --height=2700

The tutorial way (as the older DR tutorials do it): one process, full JPEG
decode, crop the black border (bounding box above a threshold), bicubic resize
to a square, re-encode, write a tf.Example. slim-med: datasets/convert.run
(--num_workers processes, DCT-scaled JPEG decode, sub-pixel border crop,
aspect-keeping resize + pad). Both re-encode to the same --image_format.
When apache_beam is installed (pip install -e '.[beam]'), the same
conversion also runs on Beam's DirectRunner (datasets/beam_convert.py,
--num_workers worker processes) on the same photos, timed the same way
(pipeline start-up included).

The photos are fundus-like drawings from demo/synthetic.py (a few distinct
ones, copied to reach the count; decoding cost does not depend on content
being unique). Each copy carries its own JPEG comment, so the converter's
byte-identical duplicate detection keeps every one.
"""
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_integer("num_images", 200, "Photos for the speed comparison (N).")
flags.DEFINE_integer("memory_scale", 10, "Memory check: N vs memory_scale * N.")
flags.DEFINE_integer("memory_images", 20, "N for the memory check.")
flags.DEFINE_integer("width", 3000, "Photo width in pixels.")
flags.DEFINE_integer("height", 2000, "Photo height in pixels.")
flags.DEFINE_integer("distinct", 3, "Distinct drawn photos (the rest are copies).")
flags.DEFINE_integer("record_image_size", 299, "Stored image side in pixels "
                     "(download_and_convert_data.py --record_image_size).")
flags.DEFINE_integer("num_workers", None, "slim-med workers; default all cores.")
flags.DEFINE_enum("image_format", "jpeg", ["jpeg", "png"], "Re-encoding, both ways.")
flags.DEFINE_boolean("beam", True, "Also time Beam's DirectRunner (needs "
                     "apache_beam).")
flags.DEFINE_string("work_dir", None, "Scratch folder; default a temp dir.")
flags.DEFINE_boolean("keep", False, "Keep the scratch folder.")


def make_photos(root, count, width, height, distinct):
  """Kaggle-DR layout root/train/<p>_<eye>.jpeg + trainLabels.csv."""
  import numpy as np
  from PIL import Image
  from demo import synthetic
  train = os.path.join(root, "train")
  os.makedirs(train, exist_ok=True)
  rng = np.random.default_rng(0)
  bases = []
  for k in range(min(distinct, count)):
    array, _ = synthetic.draw_fundus(rng, height, num_lesions=k * 2)
    image = Image.fromarray(array)
    if image.size != (width, height):
      image = image.resize((width, height), Image.BICUBIC)
    path = os.path.join(train, "%d_%s.jpeg" % (k // 2, ("left", "right")[k % 2]))
    image.save(path, quality=90)
    bases.append((path, k % 5))
  rows = []
  for i in range(count):
    stem = "%d_%s" % (i // 2, ("left", "right")[i % 2])
    source, grade = bases[i % len(bases)]
    target = os.path.join(train, stem + ".jpeg")
    if not os.path.exists(target):
      _unique_copy(source, target, stem)
    rows.append("%s,%d\n" % (stem, grade))
  with open(os.path.join(root, "trainLabels.csv"), "w") as f:
    f.write("image,level\n" + "".join(rows))


def _unique_copy(source, target, tag):
  """A copy of a JPEG with a comment (COM segment) naming it: other bytes,
  the same pixels and decoding cost."""
  import struct
  with open(source, "rb") as f:
    data = f.read()
  comment = ("slim-med bench %s" % tag).encode("ascii")
  with open(target, "wb") as f:
    f.write(data[:2] + b"\xff\xfe" + struct.pack(">H", len(comment) + 2)
            + comment + data[2:])


def tutorial_way(root, output, image_size, image_format, threshold=10):
  """Full decode, crop, bicubic resize, re-encode, write: one process."""
  from PIL import Image
  from tf_compat import tf
  from datasets import tfexample
  labels = {}
  with open(os.path.join(root, "trainLabels.csv")) as f:
    next(f)
    for line in f:
      stem, level = line.strip().split(",")
      labels[stem] = int(level)
  names = sorted(os.listdir(os.path.join(root, "train")))
  start, cpu = time.time(), _cpu_seconds()
  with tf.io.TFRecordWriter(output) as writer:
    for name in names:
      image = Image.open(os.path.join(root, "train", name)).convert("RGB")
      box = image.convert("L").point(lambda v: 255 if v > threshold else 0).getbbox()
      if box:
        image = image.crop(box)
      image = image.resize((image_size, image_size), Image.BICUBIC)
      buf = io.BytesIO()
      if image_format == "jpeg":
        image.save(buf, format="JPEG", quality=95)  # as slim-med's encoder
      else:
        image.save(buf, format="PNG", compress_level=1)
      stem = os.path.splitext(name)[0]
      example = tfexample.make_example(buf.getvalue(), image_format, image_size,
                                       image_size, 3, 8, labels[stem], stem)
      writer.write(example.SerializeToString())
  return len(names), time.time() - start, _cpu_seconds() - cpu


def _cpu_seconds():
  """CPU time of this process and its finished children (pool workers)."""
  import resource
  own = resource.getrusage(resource.RUSAGE_SELF)
  kids = resource.getrusage(resource.RUSAGE_CHILDREN)
  return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _config(root, output_dir, image_size, image_format, num_workers):
  from datasets import convert
  return convert.Config(dataset_name="kaggle_dr", dataset_dir=root,
                        output_dir=output_dir, image_size=image_size,
                        image_format=image_format, num_workers=num_workers,
                        validation_size=0.0, num_shards=2, progress=False,
                        overwrite=True)


def ours(root, output_dir, image_size, image_format, num_workers):
  from datasets import convert
  config = _config(root, output_dir, image_size, image_format, num_workers)
  cpu = _cpu_seconds()
  result = convert.run(config)
  return result.written, result.seconds, _cpu_seconds() - cpu


def beam_way(root, output_dir, image_size, image_format, num_workers):
  """The same conversion on Beam's DirectRunner, num_workers processes."""
  from datasets import beam_convert
  config = _config(root, output_dir, image_size, image_format, num_workers)
  cpu = _cpu_seconds()
  result = beam_convert.run(config, "DirectRunner", direct_num_workers=num_workers)
  return result.written, result.seconds, _cpu_seconds() - cpu


_MEMORY_CHILD = r"""
import json, multiprocessing, os, sys, threading, time
sys.path.insert(0, %(repo)r)

def rss_mb(pid, field):
  try:
    with open("/proc/%%d/status" %% pid) as f:
      for line in f:
        if line.startswith(field):
          return int(line.split()[1]) / 1024.0
  except OSError:
    pass
  return 0.0

peak_worker = [0.0]
stop = threading.Event()
def watch():  # workers' resident memory, sampled (ru_maxrss survives exec)
  while not stop.is_set():
    for child in multiprocessing.active_children():
      peak_worker[0] = max(peak_worker[0], rss_mb(child.pid, "VmRSS:"))
    time.sleep(0.02)

from datasets import convert
from tf_compat import tf
baseline = rss_mb(os.getpid(), "VmRSS:")
thread = threading.Thread(target=watch, daemon=True)
thread.start()
config = convert.Config(dataset_name="kaggle_dr", dataset_dir=%(root)r,
    output_dir=%(out)r, image_size=%(size)d, image_format=%(fmt)r,
    num_workers=%(workers)d, validation_size=0.0, num_shards=4, progress=False,
    overwrite=True)
result = convert.run(config)
stop.set()
print(json.dumps({"written": result.written, "baseline_mb": baseline,
    "main_mb": rss_mb(os.getpid(), "VmHWM:"), "worker_mb": peak_worker[0]}))
"""


def peak_memory(root, output_dir, image_size, image_format, num_workers):
  """Peak RSS (MB) of the converter's main process and of its largest worker."""
  repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  code = _MEMORY_CHILD % {"repo": repo, "root": root, "out": output_dir,
                          "size": image_size, "fmt": image_format,
                          "workers": num_workers}
  proc = subprocess.run([sys.executable, "-c", code], capture_output=True,
                        text=True, check=True)
  return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv):
  del argv
  workers = FLAGS.num_workers or os.cpu_count() or 1
  work = FLAGS.work_dir or tempfile.mkdtemp(prefix="bench_convert_")
  try:
    speed_root = os.path.join(work, "speed")
    print("drawing %d fundus photos %dx%d ..." % (FLAGS.num_images, FLAGS.width,
                                                  FLAGS.height), file=sys.stderr)
    make_photos(speed_root, FLAGS.num_images, FLAGS.width, FLAGS.height,
                FLAGS.distinct)
    from tf_compat import tf  # noqa: F401  (import cost outside both timings)
    n_t, s_t, c_t = tutorial_way(speed_root, os.path.join(work, "tutorial.tfrecord"),
                                 FLAGS.record_image_size, FLAGS.image_format)
    n_o, s_o, c_o = ours(speed_root, os.path.join(work, "ours"),
                         FLAGS.record_image_size, FLAGS.image_format, workers)
    rate_t, rate_o = n_t / s_t, n_o / s_o
    beam_row = None
    if FLAGS.beam:
      try:
        import apache_beam  # noqa: F401
      except ImportError:
        beam_row = "(Beam row skipped: apache_beam not installed, pip install -e '.[beam]')"
      else:
        n_b, s_b, c_b = beam_way(speed_root, os.path.join(work, "beam"),
                                 FLAGS.record_image_size, FLAGS.image_format, workers)
        beam_row = ("| slim-med on Beam DirectRunner (multi_processing), %d workers "
                    "| %d | %.1f | %.1f | %.1fx | %s |"
                    % (workers, n_b, s_b, n_b / s_b, (n_b / s_b) / rate_t,
                       "%.0f" % (1000 * c_b / n_b) if c_b > 0 else "n/a"))
    print()
    print("Converting %dx%d fundus JPEGs to %d px %s records (%d CPU cores)"
          % (FLAGS.width, FLAGS.height, FLAGS.record_image_size, FLAGS.image_format,
             os.cpu_count() or 1))
    print("| method | images | seconds | images/s | speed-up | CPU ms/image |")
    print("|---|---:|---:|---:|---:|---:|")
    print("| tutorial: full decode, crop, bicubic resize, re-encode, 1 process "
          "| %d | %.1f | %.1f | 1.0x | %.0f |" % (n_t, s_t, rate_t, 1000 * c_t / n_t))
    print("| slim-med: DCT-scaled decode, crop, resize+pad, %d workers "
          "| %d | %.1f | %.1f | %.1fx | %.0f |" % (workers, n_o, s_o, rate_o,
                                                  rate_o / rate_t, 1000 * c_o / n_o))
    if beam_row:
      print(beam_row)
    print("(wall-clock speed-up depends on other load on the machine; CPU time "
          "per image does not: on %d idle cores expect about %.1fx)"
          % (workers, (c_t / n_t) / (c_o / n_o) * min(workers, os.cpu_count() or 1)))

    small = FLAGS.memory_images
    big = small * FLAGS.memory_scale
    mem_root = os.path.join(work, "memory")
    print("drawing %d photos for the memory check ..." % big, file=sys.stderr)
    make_photos(mem_root, big, FLAGS.width, FLAGS.height, FLAGS.distinct)
    rows = []
    for count in (small, big):
      root = os.path.join(work, "memory_%d" % count)
      os.makedirs(os.path.join(root, "train"), exist_ok=True)
      lines = open(os.path.join(mem_root, "trainLabels.csv")).read().splitlines()
      with open(os.path.join(root, "trainLabels.csv"), "w") as f:
        f.write("\n".join(lines[:count + 1]) + "\n")
      for line in lines[1:count + 1]:
        stem = line.split(",")[0]
        os.link(os.path.join(mem_root, "train", stem + ".jpeg"),
                os.path.join(root, "train", stem + ".jpeg"))
      rows.append((count, peak_memory(root, os.path.join(root, "out"),
                                      FLAGS.record_image_size, FLAGS.image_format,
                                      workers)))
    print()
    print("Peak memory of slim-med's converter (max RSS)")
    print("| images | main process peak MB | of which TF import MB | largest worker MB |")
    print("|---:|---:|---:|---:|")
    for count, mem in rows:
      print("| %d | %.0f | %.0f | %.0f |" % (count, mem["main_mb"], mem["baseline_mb"],
                                           mem["worker_mb"]))
    growth = rows[1][1]["main_mb"] / rows[0][1]["main_mb"]
    worker_growth = rows[1][1]["worker_mb"] / max(rows[0][1]["worker_mb"], 1.0)
    print()
    print("%dx more images -> main process peak x%.2f, worker peak x%.2f"
          % (FLAGS.memory_scale, growth, worker_growth))
  finally:
    if not FLAGS.keep and not FLAGS.work_dir:
      shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
  app.run(main)
