"""A grid's tasks on a Dask cluster (dask.distributed): imported only when a scheduler is given,
so that nothing else pays for Dask's import (or needs it installed: it is the `dask` extra).

The deals go to every worker once, in a worker plugin: the scheduler hands the plugin to every
worker, and to every worker that joins or is restarted later, so a worker killed mid-run and
restarted by its nanny has the deals again before it takes a task. Its tasks are run again by
the scheduler (Dask's `distributed.scheduler.allowed-failures`, 3 by default); a task whose
workers die more often than that is reported as its deal's failure.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from . import grid_tasks as grid

try:
    from distributed import Client, as_completed
    from distributed.diagnostics.plugin import WorkerPlugin
except ImportError as exc:  # the extra is not installed
    raise InputError("a Dask scheduler needs dask.distributed, which is not installed: "
                     "pip install 'structurer[dask]' (or run without --scheduler, on the local "
                     f"process pool) ({exc})") from None

if TYPE_CHECKING:
    from distributed import Worker

CONNECT_TIMEOUT = "20s"


class ShipDeals(WorkerPlugin):
    """The run's deals, scenarios and compiled programs, installed in each worker process."""

    def __init__(self, token: str, blob: bytes):
        self.token = token
        self.blob = blob

    def setup(self, worker: Worker) -> None:
        grid.install(self.token, self.blob)

    def teardown(self, worker: Worker) -> None:
        grid.uninstall(self.token)


def connect(address: str) -> Client:
    """A client of the scheduler at `address` (tcp://host:8786), or an InputError saying why not."""
    try:
        return Client(address, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError, ValueError) as exc:
        raise InputError(f"cannot reach the Dask scheduler at {address}: {exc}") from None


class DaskRunner:
    """A grid's tasks on a Dask cluster: connected first (the plan cuts the work for the
    cluster's size), then `run`, then `close`."""

    def __init__(self, scheduler: str | Client):
        self.client = scheduler if isinstance(scheduler, Client) else connect(str(scheduler))
        self.own = self.client is not scheduler  # a client made here is closed here
        self.workers = max(1, len(self.client.scheduler_info().get("workers", {})))

    def close(self) -> None:
        if self.own:
            self.client.close()

    def run(self, plan: Any, progress: Callable[[int, int], None] | None) -> tuple[int, int]:
        """Run the plan's tasks; (workers, tasks run again: not told to a client, 0)."""
        from distributed.client import FutureCancelledError

        try:
            from distributed import KilledWorker
        except ImportError:  # older releases keep it in the scheduler module
            from distributed.scheduler import KilledWorker  # type: ignore[no-redef]

        client = self.client
        token = uuid.uuid4().hex
        name = f"structurer-grid-{token}"
        try:
            try:
                client.register_plugin(ShipDeals(token, grid.shipment(plan.entries)), name=name)
            except Exception as exc:  # e.g. structurer is not installed on the workers
                raise InputError(f"the Dask workers could not take the deals (is structurer installed "
                                 f"on every worker?): {type(exc).__name__}: {exc}") from None
            self.workers = max(1, len(client.scheduler_info().get("workers", {})))
            tasks = [t for t in plan.tasks if t.key not in plan.failures]
            # pure=False: two runs of the same grid are two runs, never one cached result.
            futures = {client.submit(grid.run_task, token, task, pure=False, key=f"{name}-{i}"): task
                       for i, task in enumerate(tasks)}
            total, done = sum(t.weight for t in plan.tasks), 0
            if progress is not None:
                progress(0, total)  # the bar's length, before the first task is back
            for future in as_completed(futures):
                task = futures[future]
                try:
                    result = future.result()
                except KilledWorker as exc:
                    result = grid.Done(task, error=f"error: Dask workers died running deal "
                                                   f"\"{plan.labels[task.key]}\" ({exc})")
                except FutureCancelledError as exc:
                    result = grid.Done(task, error=f"error: the Dask cluster cancelled a task ({exc})")
                except Exception as exc:  # a bug on one deal: the others carry on
                    result = grid.internal_error(task, exc)
                future.release()
                plan.take(result)
                done += task.weight
                if progress is not None:
                    progress(done, total)
        finally:
            try:
                client.unregister_worker_plugin(name)
            except Exception:  # noqa: BLE001 - a cluster gone at the end leaves nothing to undo
                pass
        return self.workers, 0
