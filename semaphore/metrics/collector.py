"""What GET /metrics answers: the counts of this machine's processes, plus gauges read at
scrape time from the database and Redis (the truth, whichever process changed it).

The database gauges cost three aggregate queries per scrape whatever the number of tasks or
runners; Redis gives the workers, the queues and the scheduler's last tick in two round trips.
When either is unreachable its gauges are left out and `semaphore_metrics_source_up` says so:
the scrape itself still succeeds.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import redis
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from rq import Queue
from sqlalchemy import case, func, select
from sqlalchemy.exc import SQLAlchemyError

from semaphore import broker
from semaphore import metrics as metrics_setup
from semaphore.extensions import db
from semaphore.models import Runner, Task, utcnow
from semaphore.queue import heartbeats
from semaphore.queue.runners import online_since

log = logging.getLogger(__name__)


def render() -> tuple[bytes, str]:
    """The exposition text and its content type (inside an app context)."""
    directory = metrics_setup.directory()
    if directory is not None:
        counted = CollectorRegistry()
        MultiProcessCollector(counted, path=directory)
    else:
        counted = REGISTRY  # one process alone (tests, a development server)
    scraped = CollectorRegistry(auto_describe=False)
    scraped.register(StateCollector())
    return generate_latest(counted) + generate_latest(scraped), CONTENT_TYPE_LATEST


class StateCollector:
    """Gauges of the installation's state, read when scraped."""

    def describe(self) -> list[Metric]:
        return []  # names are not checked against the registry's: it holds only this

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "semaphore_metrics_source_up",
            "1 when the scrape could read the source (database, redis), else 0.",
            labels=["source"],
        )
        for source, read in (("database", _database_gauges), ("redis", _redis_gauges)):
            try:
                gauges = list(read())
            except (SQLAlchemyError, redis.RedisError) as exc:
                log.warning("metrics: could not read the %s: %s", source, exc)
                db.session.rollback()
                up.add_metric([source], 0)
                continue
            up.add_metric([source], 1)
            yield from gauges
        yield up


def _database_gauges() -> Iterator[Metric]:
    tasks = GaugeMetricFamily(
        "semaphore_tasks",
        "Tasks in the database by project id and status.",
        labels=["project_id", "status"],
    )
    rows = db.session.execute(
        select(Task.project_id, Task.status, func.count()).group_by(Task.project_id, Task.status)
    ).all()
    for project_id, status, count in rows:
        tasks.add_metric([str(project_id), status], count)
    yield tasks

    waiting, oldest = db.session.execute(
        select(func.count(), func.min(Task.created)).where(Task.status == "waiting")
    ).one()
    yield GaugeMetricFamily(
        "semaphore_queue_waiting_tasks", "Tasks waiting for a worker or a runner.", value=waiting
    )
    age = max((utcnow() - oldest).total_seconds(), 0.0) if oldest is not None else 0.0
    yield GaugeMetricFamily(
        "semaphore_queue_oldest_waiting_seconds",
        "Age of the oldest waiting task (0 when none waits).",
        value=age,
    )

    online = case((Runner.touched >= online_since(), 1), else_=0)
    runners = GaugeMetricFamily(
        "semaphore_runners",
        "Remote runners by state: online (polled within runner_timeout), offline, inactive.",
        labels=["state"],
    )
    counts = {"online": 0, "offline": 0, "inactive": 0}
    for active, is_online, count in db.session.execute(
        select(Runner.active, online, func.count()).group_by(Runner.active, online)
    ):
        state = "inactive" if not active else ("online" if is_online else "offline")
        counts[state] += count
    for state, count in counts.items():
        runners.add_metric([state], count)
    yield runners


def _redis_gauges() -> Iterator[Metric]:
    workers = GaugeMetricFamily(
        "semaphore_workers",
        "Live `semaphore worker` processes (RQ workers registered in Redis) by state.",
        labels=["state"],
    )
    states = {"busy": 0, "idle": 0, **heartbeats.worker_states()}
    for state, count in sorted(states.items()):
        workers.add_metric([state], count)
    yield workers

    pipe = broker.connection().pipeline(transaction=False)
    for name in broker.ALL_QUEUES:
        pipe.llen(Queue.redis_queue_namespace_prefix + name)
    jobs = GaugeMetricFamily(
        "semaphore_rq_queue_jobs", "Jobs in each RQ queue, not yet taken.", labels=["queue"]
    )
    for name, length in zip(broker.ALL_QUEUES, pipe.execute(), strict=True):
        jobs.add_metric([name], length)
    yield jobs

    last_tick = heartbeats.scheduler_last_tick()
    if last_tick is not None:
        yield GaugeMetricFamily(
            "semaphore_scheduler_last_tick_timestamp_seconds",
            "When a scheduler last finished a tick (Unix time).",
            value=last_tick,
        )
