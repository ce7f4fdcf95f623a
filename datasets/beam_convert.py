"""Conversion on Apache Beam (``download_and_convert_data.py --runner=...``).

Imported only when a runner is given (``pip install -e '.[beam]'``). The
driver runs the local converter's own pieces; Beam only does the per-image
work and the shard writes:

    driver   convert.plan(config)      scan, --patients_file, identical files,
                                       small classes, patient-level split,
                                       preprocessing + modality, shard plan
    Beam     Create((shard, position, item) of every planned shard not yet
             complete) -> Reshuffle -> Map(writer.prepare_one: read_and_prepare
             + encode) -> GroupByKey(shard) -> writer.write_shard (items in
             plan order; <shard>.partial, .conversion/<shard>.json, rename)
    driver   convert.finish(...)       counts, conversion_report.json (decode
                                       failures from the shards' stats),
                                       manifest, labels.txt, dataset_info.json
                                       -- or, --strict / nothing readable,
                                       nothing but the report

So a Beam run writes byte-identical shards to the local converter's: the
same records in the same shard, in the same order. Beam's own
``WriteToTFRecord`` also writes temporary files (under
``<output>/beam-temp-*``) and renames them on finalize, but it deals records
to shards round-robin and numbers shards in the order bundles finish, so it
cannot write a planned shard; ``write_shard``'s partial-then-rename commit
gives the same guarantee. A failed or interrupted Beam run leaves finished
shards in place; running again (either runner, same inputs and settings)
writes only the missing ones.
"""
import logging
import os
import time
from typing import Optional, Sequence

import apache_beam as beam
from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions
from apache_beam.runners import runner as runner_lib

from datasets import convert, storage, writer

log = logging.getLogger(__name__)

DIRECT_RUNNERS = ("DirectRunner", "direct", "BundleBasedDirectRunner",
                  "SwitchingDirectRunner")


def pipeline_options(runner: str, pipeline_args: Sequence[str] = (),
                     direct_num_workers: Optional[int] = None) -> PipelineOptions:
  """Beam's options: ``pipeline_args`` are Beam's own flags (``--project``,
  ``--region``, ``--temp_location``, ``--flink_master``, ...). DirectRunner
  runs ``direct_num_workers`` worker processes (default all cores) unless
  ``--direct_running_mode`` says otherwise."""
  options = PipelineOptions(list(pipeline_args), runner=runner)
  if runner in DIRECT_RUNNERS:
    direct = options.view_as(DirectOptions)
    workers = direct_num_workers or os.cpu_count() or 1
    direct.direct_num_workers = workers
    if "--direct_running_mode" not in " ".join(pipeline_args):
      direct.direct_running_mode = ("multi_processing" if workers > 1
                                    else "in_memory")
  return options


def _prepare(element, preprocessing, image_format):
  shard_index, position, item = element
  result = writer.prepare_one((item.path, preprocessing, image_format))
  return shard_index, (position, item, result)


class _WriteShard(beam.DoFn):
  """One planned shard: its prepared items back in plan order, written by the
  local converter's writer.write_shard (failed reads become its skipped
  entries, reported by convert.finish)."""

  def __init__(self, shards, write_args):
    self._shards = shards            # [(filename, split)] by shard index
    self._args = write_args

  def process(self, element):
    shard_index, values = element
    ordered = sorted(values, key=lambda v: v[0])
    filename, split = self._shards[shard_index]
    shard = writer.Shard(split, filename, [v[1] for v in ordered])
    stats = writer.write_shard(shard, (v[2] for v in ordered), **self._args)
    yield filename, stats.examples, len(stats.skipped)


def build(pipeline, elements, shards, write_args):
  """The pipeline over ``elements`` [(shard index, position, writer.Item)]."""
  args = dict(write_args)
  return (pipeline
          | "Plan" >> beam.Create(elements)
          | "Spread" >> beam.Reshuffle()
          | "ReadAndPrepare" >> beam.Map(_prepare, args["preprocessing"],
                                         args["image_format"])
          | "ByShard" >> beam.GroupByKey()
          | "WriteShard" >> beam.ParDo(_WriteShard(shards, args)))


def run(config: convert.Config, runner: str, pipeline_args: Sequence[str] = (),
        direct_num_workers: Optional[int] = None) -> convert.Result:
  """convert.run with the shards written by a Beam pipeline."""
  try:
    options = pipeline_options(runner, pipeline_args, direct_num_workers)
    runner_lib.create_runner(runner)   # an unknown runner fails here, not later
  except ValueError as err:
    raise convert.ConversionError("--runner=%s: %s" % (runner, err)) from None
  planned = convert.plan(config)
  output_dir = planned.output_dir
  storage.makedirs(os.path.join(output_dir, writer.STATE_DIR))
  writer.remove_partials(output_dir)
  done = writer.completed_shards(output_dir, planned.shards)
  if done:
    log.info("resuming: %d of %d shards already complete", len(done),
             len(planned.shards))
  shards = [(s.filename, s.split) for s in planned.shards]
  elements = [(index, position, item)
              for index, shard in enumerate(planned.shards)
              if shard.filename not in done
              for position, item in enumerate(shard.items)]
  started = time.time()
  if elements:
    log.info("%s: %d images on %s", config.dataset_name, len(elements), runner)
    with beam.Pipeline(options=options) as pipeline:
      build(pipeline, elements, shards, planned.write_args)
  seconds = time.time() - started
  done = writer.completed_shards(output_dir, planned.shards)
  missing = [s.filename for s in planned.shards if s.filename not in done]
  if missing:
    raise convert.ConversionError(
        "the %s run ended with %d of %d shards unwritten (first: %s); run the "
        "same command again to write only those" % (runner, len(missing),
                                                     len(planned.shards), missing[0]))
  return convert.finish(planned, [done[s.filename] for s in planned.shards],
                        seconds, len(elements), runner=runner)
