"""The batch-writer thread: batches by size, by time and on flush; a failed write reaches the producer."""

from __future__ import annotations

import threading

import pytest

from pipeline.infra.batching import BatchWriter


def test_batches_by_size_and_on_flush_and_close():
    batches = []
    writer = BatchWriter(batches.append, batch_size=3, flush_s=60)
    for i in range(7):
        writer.put(i)
    writer.flush()  # 0-2 and 3-5 by size, 6 on flush
    assert batches == [[0, 1, 2], [3, 4, 5], [6]]
    writer.put(7)
    writer.close()
    assert batches[-1] == [7]


def test_a_waiting_item_is_written_after_flush_s():
    written = threading.Event()
    writer = BatchWriter(lambda batch: written.set(), batch_size=100, flush_s=0.05)
    writer.put("x")
    assert written.wait(5)
    writer.close()


def test_the_write_error_is_raised_once_in_the_producer_and_later_batches_still_go():
    batches = []

    def write(batch):
        if batch == ["bad"]:
            raise RuntimeError("database down")
        batches.append(batch)

    writer = BatchWriter(write, max_queued=2)
    writer.put("bad")
    with pytest.raises(RuntimeError, match="database down"):
        writer.flush()
    writer.flush()  # raised once
    writer.put("good", raise_error=False)
    writer.close()
    assert batches == [["good"]]
