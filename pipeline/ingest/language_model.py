"""Imported by the extraction fork server (``pipeline.ingest.pool.WORKER_PRELOAD``): loads the
language model (about 2 s of CPU) once there, so that every worker forked from the server starts
with it, instead of each worker, and each replacement of a crashed one, loading it again."""

from pipeline.ingest.language import load_model

load_model()
