"""Small helpers for the converter tests: run a conversion, read records back."""
import os

from datasets import convert, dataset_factory, tfexample


def run(dataset_name, dataset_dir, output_dir, **kwargs):
  kwargs.setdefault("image_size", 32)
  kwargs.setdefault("num_workers", 1)
  kwargs.setdefault("num_shards", 2)
  kwargs.setdefault("progress", False)
  config = convert.Config(dataset_name=dataset_name, dataset_dir=str(dataset_dir),
                          output_dir=str(output_dir), **kwargs)
  return convert.run(config)


def read_split(output_dir, split_name, dataset_name=None):
  """Every record of a split via get_split + tfexample.parse, as dicts."""
  from tf_compat import tf
  split = dataset_factory.get_split(dataset_name, split_name, str(output_dir))
  records = []
  for serialized in tf.data.TFRecordDataset(split.files):
    parsed = tfexample.parse(serialized, split.label_length, split.bit_depth,
                             split.channels)
    records.append({
        "source_id": parsed["source_id"].numpy().decode(),
        "patient_group": parsed["patient_group"].numpy().decode(),
        "label": parsed["label"].numpy().tolist(),
        "image": parsed["image"].numpy(),
    })
  return split, records


def read_all(output_dir, dataset_name=None):
  from datasets import dataset_info
  info = dataset_info.read(str(output_dir))
  return info, {name: read_split(output_dir, name, dataset_name)[1]
                for name in info.splits}


def raw_bytes_of(output_dir):
  """All bytes of every file the converter wrote (for leak checks)."""
  blobs = []
  for name in os.listdir(output_dir):
    path = os.path.join(output_dir, name)
    if os.path.isfile(path):
      with open(path, "rb") as f:
        blobs.append(f.read())
  return b"".join(blobs)
