"""Consumer groups with the Java client (kafka-clients 4.3), issue 3
acceptance 2 and 5: tests/java/GroupScenarios.java checks everything itself,
prints each step and "OK" last.

- cooperative: classic protocol with CooperativeStickyAssignor; two consumers
  on a 6-partition topic, then a third joins: the partitions the first two keep
  are never revoked, all six are covered disjointly, every record is consumed once.
- consumer-protocol: the same with group.protocol=consumer (KIP-848,
  server-side assignor): survivors keep their unaffected partitions.
- admin: AdminClient describe/list groups, group offsets and lag (latest minus
  committed equals produced minus consumed-and-committed), alter and delete
  offsets, removeMembersFromConsumerGroup for a static member.
"""

from __future__ import annotations

import uuid

import pytest

import test_java_client as jc
from conftest import unique_topic
from group_helpers import _module_group_broker, group_broker  # noqa: F401

java_classes = jc.java_classes


def run_scenario(classes, bootstrap: str, mode: str) -> None:
    topic = unique_topic(f"java-groups-{mode}")
    group = f"java-groups-{mode}-{uuid.uuid4().hex[:8]}"
    proc = jc.run_java(classes, "GroupScenarios", mode, bootstrap, topic, group, timeout=280)
    output = f"--- stdout ---\n{proc.stdout}\n--- stderr (tail) ---\n{proc.stderr[-20000:]}"
    assert proc.returncode == 0, f"GroupScenarios {mode} exited {proc.returncode}\n{output}"
    assert proc.stdout.strip().splitlines()[-1] == "OK", output


@pytest.mark.timeout(300)
def test_java_classic_cooperative_sticky_incremental_rebalance(group_broker, java_classes):
    run_scenario(java_classes, group_broker.bootstrap, "cooperative")


@pytest.mark.timeout(300)
def test_java_consumer_protocol_kip848_incremental_rebalance(group_broker, java_classes):
    run_scenario(java_classes, group_broker.bootstrap, "consumer-protocol")


@pytest.mark.timeout(300)
def test_java_admin_group_views_offsets_and_lag(group_broker, java_classes):
    run_scenario(java_classes, group_broker.bootstrap, "admin")
