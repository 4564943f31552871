"""A 3-node `tributary-broker` cluster for client failover tests.

Each node is started as the replication contract says (Kafka KRaft style):
`process.roles=broker,controller`, its `node.id`, the full
`controller.quorum.voters`, a PLAINTEXT and a CONTROLLER listener on loopback
ports chosen before any node starts, its own `log.dirs`, replication factor 3,
`min.insync.replicas=2` and short session timeouts. Nodes are named by node
id (1..N) and reuse conftest's `Broker` for process handling and logs.

Cluster state is read with raw Metadata v7 requests sent to one node at a
time (librdkafka's metadata comes from whichever broker it likes), so
"every live node lists 3 brokers" and "the freshest leader epoch" mean what
they say. A paused or dead node is simply one that does not answer.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from confluent_kafka.admin import AdminClient, NewTopic

from conftest import Broker

SESSION_TIMEOUT_S = 3.0
RPC_TIMEOUT_S = 5.0
LOG_TAIL_BYTES = 48 * 1024


def free_ports(n: int) -> list[int]:
    """n distinct ports that were free a moment ago (all bound at once, then closed)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class ClusterNode(Broker):
    """One node: conftest's Broker with the cluster's overrides and SIGSTOP/SIGCONT."""

    def __init__(self, workdir: Path, node_id: int, port: int, controller_port: int, overrides: dict[str, str]):
        super().__init__(workdir)
        self.node_id = node_id
        self.port = port
        self.controller_port = controller_port
        self.bootstrap = f"127.0.0.1:{port}"
        self.overrides = overrides
        self.paused = False

    def start(self) -> None:
        super().start()
        self.paused = False

    def note(self, text: str) -> None:
        with open(self.log_path, "ab") as f:
            f.write(f"===== [harness] node {self.node_id} {text}\n".encode())

    def pause(self) -> None:
        assert self.running(), f"node {self.node_id} is not running"
        self.proc.send_signal(signal.SIGSTOP)
        self.paused = True
        self.note("paused with SIGSTOP")

    def resume(self) -> None:
        assert self.running(), f"node {self.node_id} is not running"
        self.proc.send_signal(signal.SIGCONT)
        self.paused = False
        self.note("resumed with SIGCONT")

    def stop(self, timeout: float = 30.0) -> int:
        if self.paused and self.running():
            self.resume()
        return super().stop(timeout)

    def kill9(self) -> None:
        if self.running():
            self.note("killed with SIGKILL")
        super().kill9()
        self.paused = False


@dataclass
class PartitionView:
    partition: int
    error_code: int
    leader: int
    leader_epoch: int
    replicas: list[int]
    isr: list[int]


@dataclass
class MetadataView:
    from_node: int
    brokers: list[int]
    controller_id: int
    topics: dict[str, dict[int, PartitionView]] = field(default_factory=dict)


class Cluster:
    """N nodes of the real binary as one cluster; see the module docstring."""

    def __init__(self, workdir: Path, n: int = 3, extra_overrides: dict[str, str] | None = None):
        self.workdir = workdir
        ports = free_ports(2 * n)
        ids = list(range(1, n + 1))
        voters = ",".join(f"{i}@127.0.0.1:{ports[2 * (i - 1) + 1]}" for i in ids)
        rf = min(n, 3)
        self.nodes: dict[int, ClusterNode] = {}
        for i in ids:
            port, cport = ports[2 * (i - 1)], ports[2 * (i - 1) + 1]
            node_dir = workdir / f"node-{i}"
            overrides = {
                "process.roles": "broker,controller",
                "node.id": str(i),
                "controller.quorum.voters": voters,
                "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{cport}",
                "controller.listener.names": "CONTROLLER",
                "inter.broker.listener.name": "PLAINTEXT",
                "log.dirs": str(node_dir / "data"),
                "default.replication.factor": str(rf),
                "min.insync.replicas": str(min(rf, 2)),
                "offsets.topic.replication.factor": str(rf),
                "transaction.state.log.replication.factor": str(rf),
                "broker.session.timeout.ms": str(int(SESSION_TIMEOUT_S * 1000)),
                "broker.heartbeat.interval.ms": "500",
                "replica.lag.time.max.ms": "5000",
                **(extra_overrides or {}),
            }
            self.nodes[i] = ClusterNode(node_dir, i, port, cport, overrides)

    # --- lifecycle -------------------------------------------------------------

    def start(self) -> None:
        for node in self.nodes.values():
            node.start()

    @property
    def bootstrap(self) -> str:
        return ",".join(n.bootstrap for n in self.nodes.values())

    def node(self, node_id: int) -> ClusterNode:
        return self.nodes[node_id]

    def live_nodes(self) -> list[int]:
        return [i for i, n in self.nodes.items() if n.running() and not n.paused]

    def kill9(self, node_id: int) -> None:
        self.nodes[node_id].kill9()

    def start_again(self, node_id: int) -> None:
        self.nodes[node_id].start()

    def pause(self, node_id: int) -> None:
        self.nodes[node_id].pause()

    def resume(self, node_id: int) -> None:
        self.nodes[node_id].resume()

    def shutdown(self) -> dict[int, int | str]:
        """Stops every node (SIGTERM, then SIGKILL after 30 s); never raises."""
        codes: dict[int, int | str] = {}
        for i, n in self.nodes.items():
            if n.proc is None:
                continue
            try:
                codes[i] = n.stop()
            except Exception as e:  # noqa: BLE001 - teardown must reach every node
                codes[i] = f"{e}"
                with contextlib.suppress(Exception):
                    n.kill9()
        return codes

    # --- asking the nodes --------------------------------------------------------

    def metadata_from(self, node_id: int, topics: list[str] | None = None) -> MetadataView:
        """Metadata v7 from one node (raises OSError if it does not answer in time)."""
        return _metadata_v7(node_id, ("127.0.0.1", self.nodes[node_id].port), topics)

    def partition_view(self, topic: str, partition: int) -> PartitionView | None:
        """The view with the highest leader epoch among the live nodes' answers."""
        best = None
        for i in self.live_nodes():
            try:
                md = self.metadata_from(i, [topic])
            except (OSError, ValueError, struct.error):
                continue
            p = md.topics.get(topic, {}).get(partition)
            if p is None or (p.error_code != 0 and p.leader < 0):
                continue
            if best is None or p.leader_epoch > best.leader_epoch:
                best = p
        return best

    def leader_of(self, topic: str, partition: int) -> int | None:
        v = self.partition_view(topic, partition)
        return v.leader if v is not None and v.leader >= 0 else None

    def wait_until(self, what: str, timeout: float, check: Callable[[], tuple[bool, object]]):
        """Polls `check` (returning (done, value-or-state)) until done; raises with the last state."""
        t0 = time.monotonic()
        last_print = t0
        while True:
            done, value = check()
            if done:
                return value
            now = time.monotonic()
            if now - t0 > timeout:
                raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}; last state: {value}")
            if now - last_print > 10:
                print(f"[cluster] still waiting ({now - t0:.0f}s) for {what}: {value}", flush=True)
                last_print = now
            time.sleep(0.2)

    def wait_ready(self, n_brokers: int, timeout: float = 90.0) -> None:
        """Every live node answers Metadata listing exactly n_brokers brokers."""

        def check():
            states = {}
            for i in self.live_nodes():
                try:
                    states[i] = self.metadata_from(i, []).brokers
                except (OSError, ValueError, struct.error) as e:
                    states[i] = repr(e)
            ok = bool(states) and all(isinstance(b, list) and len(b) == n_brokers for b in states.values())
            return ok, states

        self.wait_until(f"every live node to list {n_brokers} brokers", timeout, check)

    def wait_isr(self, topic: str, partitions: int, isr_size: int, timeout: float = 60.0) -> list[PartitionView]:
        def check():
            live = self.live_nodes()
            views = [self.partition_view(topic, p) for p in range(partitions)]
            ok = all(v is not None and v.leader in live and len(v.isr) == isr_size for v in views)
            return ok, (views if ok else f"live {live}: {views}")

        return self.wait_until(f"{topic}: leaders and {isr_size} in-sync replicas", timeout, check)

    def wait_new_leader(self, topic: str, partition: int, not_ids: list[int], timeout: float = 60.0) -> PartitionView:
        def check():
            live = self.live_nodes()
            v = self.partition_view(topic, partition)
            ok = v is not None and v.leader in live and v.leader not in not_ids
            return ok, (v if ok else f"live {live}: {v}")

        return self.wait_until(f"{topic}-{partition}: a live leader other than {not_ids}", timeout, check)

    def create_topic(self, name: str, partitions: int, rf: int, config: dict | None = None,
                     timeout: float = 60.0) -> None:
        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        futures = admin.create_topics(
            [NewTopic(name, num_partitions=partitions, replication_factor=rf, config=config or {})],
            operation_timeout=30, request_timeout=30,
        )
        futures[name].result(timeout=timeout)
        self.wait_isr(name, partitions, rf, timeout)

    # --- diagnostics ---------------------------------------------------------------

    def log_tails(self, limit: int = LOG_TAIL_BYTES) -> dict[int, str]:
        return {i: n.log_tail(limit) for i, n in self.nodes.items()}

    @contextlib.contextmanager
    def logs_on_failure(self, item):
        """Attach every node's log tail to the report of a test that fails inside."""
        try:
            yield self
        except BaseException:
            for i, n in self.nodes.items():
                state = "running" if n.running() else f"not running (exit codes {n.exit_codes})"
                item.add_report_section("call", f"node {i} log ({state}; full log {n.log_path})",
                                        n.log_tail(LOG_TAIL_BYTES))
            raise


# --- Metadata v7 over a raw socket ----------------------------------------------------


class _Reader:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def take(self, fmt: str):
        v = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return v[0]

    def string(self) -> str | None:
        n = self.take(">h")
        if n < 0:
            return None
        s = self.data[self.pos:self.pos + n].decode()
        self.pos += n
        return s

    def array(self, item):
        n = self.take(">i")
        return [item() for _ in range(max(n, 0))]


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed")
        buf += chunk
    return bytes(buf)


def _metadata_v7(node_id: int, addr: tuple[str, int], topics: list[str] | None) -> MetadataView:
    client_id = b"cluster-helpers"
    body = struct.pack(">hhih", 3, 7, 1, len(client_id)) + client_id
    if topics is None:
        body += struct.pack(">i", -1)
    else:
        body += struct.pack(">i", len(topics))
        for t in topics:
            tb = t.encode()
            body += struct.pack(">h", len(tb)) + tb
    body += struct.pack(">b", 0)  # allow_auto_topic_creation = false
    with socket.create_connection(addr, timeout=RPC_TIMEOUT_S) as s:
        s.settimeout(RPC_TIMEOUT_S)
        s.sendall(struct.pack(">i", len(body)) + body)
        size = struct.unpack(">i", _recv_exact(s, 4))[0]
        r = _Reader(_recv_exact(s, size))
    if r.take(">i") != 1:
        raise ValueError("correlation id mismatch")
    r.take(">i")  # throttle_time_ms

    def broker():
        nid = r.take(">i")
        r.string()
        r.take(">i")
        r.string()
        return nid

    brokers = sorted(r.array(broker))
    r.string()  # cluster_id
    controller = r.take(">i")
    view = MetadataView(node_id, brokers, controller)

    def partition():
        err, idx, leader, epoch = r.take(">h"), r.take(">i"), r.take(">i"), r.take(">i")
        replicas = r.array(lambda: r.take(">i"))
        isr = r.array(lambda: r.take(">i"))
        r.array(lambda: r.take(">i"))  # offline replicas
        return PartitionView(idx, err, leader, epoch, replicas, isr)

    def topic():
        r.take(">h")
        name = r.string()
        r.take(">b")
        parts = r.array(partition)
        view.topics[name] = {p.partition: p for p in parts}

    r.array(topic)
    return view


def wait_for(what: str, timeout: float, check: Callable[[], bool], progress: Callable[[], str] | None = None,
             every: float = 5.0) -> None:
    """Polls `check` until true, printing `progress()` every few seconds; raises after `timeout`."""
    t0 = time.monotonic()
    last = t0
    while not check():
        now = time.monotonic()
        if now - t0 > timeout:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}"
                                 + (f"; {progress()}" if progress else ""))
        if progress and now - last > every:
            print(f"[{now - t0:5.0f}s] waiting for {what}: {progress()}", flush=True)
            last = now
        time.sleep(0.2)


__all__ = ["Cluster", "ClusterNode", "MetadataView", "PartitionView", "wait_for"]
