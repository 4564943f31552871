"""Producer process for test_durability: writes numbered messages and records
each one the broker ACKNOWLEDGED.

Usage: python acked_producer.py BOOTSTRAP TOPIC ACK_FILE [MAX_SECONDS]

For every delivery report without error it appends "partition offset value"
to ACK_FILE and flushes, so a line on disk means the broker said the record
was written (acks=all, idempotent). It stops on SIGTERM or after MAX_SECONDS,
without waiting for outstanding messages (the broker may be dead by then).
"""

from __future__ import annotations

import os
import signal
import sys
import time

from confluent_kafka import Producer


def main() -> int:
    bootstrap, topic, ack_path = sys.argv[1:4]
    max_seconds = float(sys.argv[4]) if len(sys.argv) > 4 else 60.0
    stop = False

    def on_term(signum, frame):
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    acks = open(ack_path, "a", buffering=1)
    errors = 0

    def on_delivery(err, msg):
        nonlocal errors
        if err is not None:
            errors += 1
            return
        acks.write(f"{msg.partition()} {msg.offset()} {msg.value().decode()}\n")
        acks.flush()

    p = Producer({
        "bootstrap.servers": bootstrap,
        "acks": "all",
        "enable.idempotence": True,
        "linger.ms": 2,
        # Keep retrying while the broker is gone; the test decides when to stop.
        "message.timeout.ms": 120000,
    })
    deadline = time.monotonic() + max_seconds
    i = 0
    while not stop and time.monotonic() < deadline:
        try:
            p.produce(topic, key=str(i % 97).encode(), value=f"msg-{i:08d}".encode(), on_delivery=on_delivery)
            i += 1
        except BufferError:
            p.poll(0.05)
            continue
        p.poll(0)
        if i % 50 == 0:
            time.sleep(0.005)  # pace it a little: a few thousand messages a second
    p.poll(0)
    acks.close()
    print(f"produced {i} messages, {errors} delivery errors", file=sys.stderr)
    # Exit without flushing: outstanding messages were never acknowledged.
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
