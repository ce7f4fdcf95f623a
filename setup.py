"""slim-med: TF-Slim-style medical image classification on current TensorFlow."""
from setuptools import setup

TF_VERSION = "2.21.0"

setup(
    name="slim-med",
    version="0.1.0",
    description=("Raw medical images -> TFRecords -> TF-Slim InceptionV3 "
                 "fine-tuning -> clinical evaluation, on TensorFlow 2.21"),
    python_requires=">=3.10",
    packages=["datasets", "datasets.sources", "demo", "nets", "preprocessing",
              "deployment", "training", "evaluation", "inference"],
    py_modules=["tf_compat", "cli", "inference_flags", "flagdefs"],
    install_requires=[
        # One distribution: tf-keras requires "tensorflow" (its Linux wheel
        # runs on CPUs); the 'gpu' extra adds CUDA to the same distribution.
        "tensorflow==%s" % TF_VERSION,
        # `tensorboard --logdir=<train_dir>`; TensorFlow 2.21 no longer pulls it.
        "tensorboard==%s" % TF_VERSION,
        "tf-keras==2.21.0",
        "tf-slim==1.1.0",
        "numpy>=1.26,<3",
        "pillow>=10",
        "scipy>=1.11",
        "pandas>=2.1",
        "scikit-learn>=1.4",
        "matplotlib>=3.8",
        "tqdm>=4.66",
    ],
    extras_require={
        "gpu": ["tensorflow[and-cuda]==%s" % TF_VERSION],
        "dicom": ["pydicom>=3.0", "pylibjpeg>=2.0", "pylibjpeg-openjpeg>=2.3",
                  "pylibjpeg-libjpeg>=2.1"],
        "dev": ["pytest>=8", "pytest-xdist>=3.5"],
        # download_and_convert_data.py --runner=...: conversion on Apache Beam.
        # Shards are written by the converter's own writer (tf.io), not by
        # Beam's TFRecord sink, so its crcmod-from-source [tfrecord] extra is
        # not needed. Remote output: add apache-beam[gcp] / apache-beam[aws].
        "beam": ["apache-beam>=2.77,<3"],
    },
)
