"""kcat through the scenario list, on whichever librdkafka the environment gives it.

    python kcat_runner.py debian|current BOOTSTRAP PREFIX

The driver runs it twice: with Debian's librdkafka 2.0.2 (kcat as installed)
and with LD_LIBRARY_PATH pointing at the librdkafka the confluent-kafka wheel
ships. kcat has no admin commands, so it relies on topic auto-creation (the
matrix broker gives auto-created topics 4 partitions) and cannot do the admin
or delete-records scenarios.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import time

FLAVOUR = sys.argv.pop(1)

from common import CODECS, Reporter, Unsupported, args, check, produce_value, wait_until  # noqa: E402

BOOTSTRAP, PREFIX = args()
KCAT = "/usr/bin/kcat"
AUTO_PARTITIONS = 4  # the driver's num.partitions


def kcat(*a: str, input: bytes | None = None, timeout: float = 30) -> bytes:
    cmd = [KCAT, "-b", BOOTSTRAP, *a]
    print("$", " ".join(cmd), flush=True)
    proc = subprocess.run(cmd, input=input, capture_output=True, timeout=timeout)
    err = proc.stderr.decode(errors="replace")
    if err.strip():
        print(err.rstrip(), flush=True)
    check(proc.returncode == 0, f"kcat exited {proc.returncode}: {err.strip()[-300:]}")
    return proc.stdout


def version() -> str:
    out = subprocess.run([KCAT, "-V"], capture_output=True, text=True).stdout
    kv = re.search(r"Version (\S+)", out)
    lv = re.search(r"librdkafka (\d+\.\d+\.\d+)", out)
    return f"{kv.group(1) if kv else '?'} (librdkafka {lv.group(1) if lv else '?'})"


R = Reporter(f"kcat-{FLAVOUR}", version(), BOOTSTRAP, PREFIX)


def produce(topic: str, lines: list[bytes], *extra: str, partition: int = 0, timeout: float = 30) -> None:
    kcat("-P", "-t", topic, "-p", str(partition), *extra, input=b"\n".join(lines) + b"\n", timeout=timeout)


def consume(topic: str, *extra: str, partition: int | None = 0, offset: str = "beginning", count: int | None = None):
    a = ["-C", "-t", topic, "-o", offset, "-e", "-J"]
    if partition is not None:
        a += ["-p", str(partition)]
    if count is not None:
        a += ["-c", str(count)]
    out = kcat(*a, *extra)
    return [json.loads(line) for line in out.decode().splitlines() if line.strip()]


def listing(topic: str) -> dict:
    return json.loads(kcat("-L", "-J", "-t", topic))


def metadata():
    t = R.topic("metadata")
    produce(t, [b"m"])
    md = listing(t)
    port = BOOTSTRAP.rsplit(":", 1)[1]
    check(any(b["name"].endswith(f":{port}") for b in md["brokers"]), f"brokers {md['brokers']}")
    (tm,) = [x for x in md["topics"] if x["topic"] == t]
    check(len(tm["partitions"]) == AUTO_PARTITIONS, f"auto-created topic partitions {tm['partitions']}")
    check(all(p["leader"] >= 0 for p in tm["partitions"]), "partition without leader")


def produce_codec(codec: str):
    t = R.topic(f"produce-{codec}")
    lines = [f"k{i}:".encode() + produce_value(i, codec) for i in range(50)]
    produce(t, lines, "-K", ":", "-H", f"codec={codec}", "-X", f"compression.codec={codec}")
    got = consume(t)
    check(len(got) == 50, f"read {len(got)} of 50")
    for i, m in enumerate(got):
        check((m["offset"], m["key"], m["payload"]) == (i, f"k{i}", produce_value(i, codec).decode()),
              f"record {i}: offset {m['offset']} key {m['key']}")
        check(m.get("headers") == ["codec", codec], f"record {i} headers {m.get('headers')}")


def fetch():
    t = R.topic("fetch")
    for p in range(3):
        produce(t, [f"v{i}".encode() for i in range(p, 30, 3)], partition=p)
    for p in range(3):
        got = consume(t, partition=p)
        check([m["payload"] for m in got] == [f"v{i}" for i in range(p, 30, 3)], f"partition {p}: {got}")
    mid = consume(t, partition=1, offset="5")
    check([m["offset"] for m in mid] == [5, 6, 7, 8, 9], f"offsets from 5: {[m['offset'] for m in mid]}")
    check(mid[0]["payload"] == "v16", f"offset 5 of partition 1 is {mid[0]['payload']}")


class GroupMember:
    """A `kcat -G` process; follows its assignment from kcat's rebalance lines."""

    def __init__(self, group: str, topic: str, *extra: str):
        cmd = [KCAT, "-b", BOOTSTRAP, "-G", group, "-J", "-u", "-X", "auto.offset.reset=earliest",
               "-X", "heartbeat.interval.ms=500", "-X", "session.timeout.ms=6000", *extra, topic]
        print("$", " ".join(cmd), flush=True)
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.assigned: set[int] = set()
        self.records: list[dict] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._err, daemon=True).start()
        threading.Thread(target=self._out, daemon=True).start()

    def _err(self):
        for line in self.proc.stderr:
            print(f"[kcat -G {self.proc.pid}] {line.rstrip()}", flush=True)
            m = re.search(r"rebalanced.*?: (assigned|revoked): (.*)", line)
            if m:
                parts = {int(x) for x in re.findall(r"\[(\d+)\]", m.group(2))}
                with self.lock:
                    self.assigned = parts if m.group(1) == "assigned" else set()

    def _out(self):
        for line in self.proc.stdout:
            if line.strip():
                with self.lock:
                    self.records.append(json.loads(line))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # kcat closes the consumer: commit + LeaveGroup
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("kcat -G did not exit within 20s of SIGTERM")


def group():
    t, g = R.topic("group"), R.group("group")
    produce(t, [f"a{i}".encode() for i in range(10)])
    c1 = GroupMember(g, t)
    try:
        wait_until(lambda: len(c1.records) >= 10, 20, "first member's 10 records")
        # kcat commits with auto-commit; stop() closes the consumer, which commits the final offsets.
    finally:
        c1.stop()
    check(sorted(r["payload"] for r in c1.records) == sorted(f"a{i}" for i in range(10)), "first member's records")
    produce(t, [f"b{i}".encode() for i in range(4)])
    c2 = GroupMember(g, t)
    try:
        wait_until(lambda: len(c2.records) >= 4, 20, "second member's 4 records")
        time.sleep(1)
    finally:
        c2.stop()
    check(sorted(r["payload"] for r in c2.records) == sorted(f"b{i}" for i in range(4)),
          f"second member resumed with {[r['payload'] for r in c2.records]}")


def rebalance():
    t, g = R.topic("rebalance"), R.group("rebalance")
    produce(t, [b"r"])
    all_parts = set(range(AUTO_PARTITIONS))
    c1 = GroupMember(g, t)
    c2 = None
    try:
        wait_until(lambda: c1.assigned == all_parts, 20, "c1 assigned every partition")
        c2 = GroupMember(g, t)
        wait_until(lambda: c1.assigned and c2.assigned and c1.assigned | c2.assigned == all_parts
                   and not c1.assigned & c2.assigned, 40, "partitions split between two members")
        c2.stop()
        c2 = None
        wait_until(lambda: c1.assigned == all_parts, 40, "c1 back to every partition after c2 left")
    finally:
        c1.stop()
        if c2 is not None:
            c2.stop()


def idempotent():
    t = R.topic("idempotent")
    produce(t, [f"i{i}".encode() for i in range(20)], "-X", "enable.idempotence=true")
    got = consume(t)
    check([m["payload"] for m in got] == [f"i{i}" for i in range(20)], f"read back {len(got)}")


def transactions():
    t = R.topic("transactions")
    # kcat sends all its input in one transaction and commits it at the end; it has no abort.
    produce(t, [f"c{i}".encode() for i in range(5)], "-X", f"transactional.id={PREFIX}-txn", timeout=20)
    got = consume(t, "-X", "isolation.level=read_committed")
    check([m["payload"] for m in got] == [f"c{i}" for i in range(5)], f"read_committed saw {got}")
    return "commit only: kcat sends its whole input as one transaction and has no abort"


def offsets():
    t = R.topic("offsets")
    produce(t, [f"o{i}".encode() for i in range(5)])
    time.sleep(0.05)
    produce(t, [f"o{i}".encode() for i in range(5, 10)])
    got = consume(t)
    check(len(got) == 10, f"read {len(got)}")
    ts5 = got[5]["ts"]
    check(got[4]["ts"] < ts5, "second batch has a later timestamp")

    def q(ts: int) -> int:
        out = kcat("-Q", "-t", f"{t}:0:{ts}").decode()
        m = re.search(r"offset (-?\d+)", out)
        check(m is not None, f"no offset in {out!r}")
        return int(m.group(1))
    check(q(-2) == 0, "earliest")
    check(q(-1) == 10, "latest")
    check(q(ts5) == 5, f"offset for the 6th record's timestamp: {q(ts5)}")


def no_admin(what):
    def f():
        raise Unsupported(f"kcat has no {what} command")
    return f


R.run("metadata", metadata)
for codec in CODECS:
    R.run(f"produce-{codec}", produce_codec, codec)
R.run("fetch", fetch)
R.run("group", group)
R.run("rebalance", rebalance)
R.run("idempotent", idempotent)
R.run("transactions", transactions)
R.run("admin-topics", no_admin("create/delete topic"))
R.run("admin-partitions", no_admin("create-partitions"))
R.run("admin-configs", no_admin("describe/alter configs"))
R.run("admin-groups", no_admin("list/describe groups"))
R.run("offsets", offsets)
R.run("delete-records", no_admin("delete-records"))
