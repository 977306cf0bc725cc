"""Where the shards of a constellation run: this process, local worker processes, or Ray.

An engine starts one :class:`~ground.shard.Shard` per worker and, each interval, hands every
shard its input and collects its report; the driver (:func:`ground.constellation.run_constellation`)
does the exchange between intervals. Engines differ only in where the shards live, never in
what they compute: the same plan and seed give the same results with every engine and worker
count.

* :class:`InlineEngine`: the shards in this process, one after the other (``--workers 1``).
* :class:`ProcessEngine`: one forked worker process per shard, over pipes (the default for
  ``--workers`` > 1; nothing to install). A worker that dies or raises is reported with its
  nodes and the run stops with :class:`WorkerError`; an interval that takes longer than
  ``timeout_s`` of wall time is reported the same way, so a run never hangs.
* :class:`RayEngine`: the shards as Ray actors (``--engine ray [--address ADDR]``, the
  optional ``satnode[cluster]`` extra), on a local Ray instance or a cluster. One remote call
  per shard per interval: Ray's ~1 ms per call is paid per shard, not per node or tick.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import signal
import socket
import sys
import traceback
from collections.abc import Sequence
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from native.errors import SatnodeError

if TYPE_CHECKING:
    from ground.constellation import ConstellationPlan
    from ground.shard import IntervalInput, IntervalReport, ShardResult

__all__ = [
    "ENGINES",
    "Engine",
    "InlineEngine",
    "ProcessEngine",
    "RayEngine",
    "WorkerError",
    "make_engine",
]

ENGINES = ("local", "ray")


class WorkerError(SatnodeError):
    """A shard's worker died, raised, or stopped answering; names the worker and its nodes."""


def _describe(k: int, names: Sequence[str]) -> str:
    nodes = ", ".join(names) if len(names) <= 6 else f"{names[0]} .. {names[-1]}"
    return f"worker {k + 1} ({len(names)} nodes: {nodes})"


class Engine(Protocol):
    """Runs shards: :meth:`start`, then :meth:`step` per interval, then :meth:`finish`."""

    name: str
    workers: int

    def start(self, plan: ConstellationPlan, parts: list[list[str]], out: Path) -> None:
        """Build one shard per part (node names)."""
        ...

    def step(
        self, inputs: list[IntervalInput], duration_s: float, sample_links: bool
    ) -> list[IntervalReport]:
        """Run one interval on every shard; reports in shard order."""
        ...

    def finish(self) -> list[ShardResult]:
        """Every shard's summaries and host figures; the shards are closed."""
        ...

    def close(self) -> None:
        """Stop everything (idempotent; after an error too)."""
        ...


class InlineEngine:
    """The shards in this process (``--workers 1``, and what the others are checked
    against)."""

    name = "local"

    def __init__(self) -> None:
        self.workers = 1
        self._shards: list[Any] = []
        self._parts: list[list[str]] = []

    def start(self, plan: ConstellationPlan, parts: list[list[str]], out: Path) -> None:
        from ground.shard import Shard

        self._parts = parts
        for part in parts:
            self._shards.append(Shard(plan, part, out))

    def step(
        self, inputs: list[IntervalInput], duration_s: float, sample_links: bool
    ) -> list[IntervalReport]:
        return [
            s.step(i, duration_s, sample_links) for s, i in zip(self._shards, inputs, strict=True)
        ]

    def finish(self) -> list[ShardResult]:
        out = [s.finish() for s in self._shards]
        self._shards = []
        return out

    def close(self) -> None:
        for s in self._shards:
            s.close()
        self._shards = []


def _worker_main(
    conn: Connection, plan: Any, names: list[str], out: str, inherited: list[Connection]
) -> None:
    """A worker process: build the shard, then answer ``("step", ...)`` and ``("finish",)``
    requests until ``("stop",)``; any exception goes back as ``("error", text)``. The worker
    ends by itself when the driver is gone (its pipe closed, or its process replaced)."""
    from ground.shard import Shard

    # Ctrl-C reaches the whole process group: the driver stops the workers in order.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for other in inherited:  # the driver's ends of earlier workers' pipes, copied by fork:
        other.close()  # held open here, they would keep those workers from seeing EOF
    driver = os.getppid()
    shard: Shard | None = None
    try:
        shard = Shard(plan, names, out)
        conn.send(("ok", None))
        while True:
            while not conn.poll(1.0):
                if os.getppid() != driver:
                    raise EOFError  # orphaned: the driver died without closing the pipe
            msg = conn.recv()
            if msg[0] == "step" and shard is not None:
                conn.send(("ok", shard.step(msg[1], msg[2], msg[3])))
            elif msg[0] == "finish" and shard is not None:
                conn.send(("ok", shard.finish()))
                shard = None
            else:
                break
    except EOFError:
        pass  # the driver is gone: nothing to report to
    except BaseException as exc:  # reported to the driver with the worker's nodes
        with contextlib.suppress(OSError):
            conn.send(("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"))
    finally:
        if shard is not None:
            shard.close()
        conn.close()


class ProcessEngine:
    """One worker process per shard (forked where the platform allows: the workers share the
    driver's loaded modules and compiled kernels until they write to them)."""

    name = "local"

    def __init__(self, workers: int, timeout_s: float = 600.0) -> None:
        if workers < 1:
            raise SatnodeError(f"--workers {workers}: must be >= 1")
        if not timeout_s > 0:
            raise SatnodeError(f"worker timeout must be > 0 s, got {timeout_s}")
        self.workers = workers
        self.timeout_s = float(timeout_s)
        self._procs: list[Any] = []
        self._conns: list[Connection] = []
        self._parts: list[list[str]] = []

    def start(self, plan: ConstellationPlan, parts: list[list[str]], out: Path) -> None:
        method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
        ctx: Any = mp.get_context(method)
        self._parts = parts
        sys.stdout.flush()
        sys.stderr.flush()
        for part in parts:
            here, there = ctx.Pipe()
            inherited = list(self._conns) if method == "fork" else []
            proc = ctx.Process(
                target=_worker_main, args=(there, plan, part, str(out), inherited), daemon=True
            )
            proc.start()
            there.close()
            self._procs.append(proc)
            self._conns.append(here)
        self._gather()

    def _gather(self) -> list[Any]:
        """One answer from every worker, or WorkerError naming the first that failed."""
        answers: dict[int, Any] = {}
        pending = dict(enumerate(self._conns))
        sentinels = {p.sentinel: k for k, p in enumerate(self._procs)}
        while pending:
            ready = wait([*pending.values(), *(s for s, k in sentinels.items() if k in pending)],
                         timeout=self.timeout_s)  # fmt: skip
            if not ready:
                k = min(pending)
                raise WorkerError(
                    f"{_describe(k, self._parts[k])} did not answer within {self.timeout_s:.0f} s"
                    " of wall time; the run is stopped"
                )
            for obj in ready:
                found = sentinels.get(obj) if not isinstance(obj, Connection) else None
                k = found if found is not None else next(i for i, c in pending.items() if c is obj)
                conn = pending.get(k)
                if conn is None:
                    continue
                try:
                    if not conn.poll():
                        raise EOFError
                    status, value = conn.recv()
                except (EOFError, OSError):
                    proc = self._procs[k]
                    proc.join(timeout=5)
                    raise WorkerError(
                        f"{_describe(k, self._parts[k])} died (exit code {proc.exitcode}); "
                        "the run is stopped"
                    ) from None
                if status == "error":
                    raise WorkerError(f"{_describe(k, self._parts[k])} failed: {value}")
                answers[k] = value
                del pending[k]
        return [answers[k] for k in range(len(self._conns))]

    def _send(self, k: int, msg: tuple[Any, ...]) -> None:
        try:
            self._conns[k].send(msg)
        except OSError:
            proc = self._procs[k]
            proc.join(timeout=5)
            raise WorkerError(
                f"{_describe(k, self._parts[k])} died (exit code {proc.exitcode}); "
                "the run is stopped"
            ) from None

    def step(
        self, inputs: list[IntervalInput], duration_s: float, sample_links: bool
    ) -> list[IntervalReport]:
        for k, inp in enumerate(inputs):
            self._send(k, ("step", inp, duration_s, sample_links))
        return self._gather()

    def finish(self) -> list[ShardResult]:
        for k in range(len(self._conns)):
            self._send(k, ("finish",))
        return self._gather()

    def close(self) -> None:
        for conn in self._conns:
            with contextlib.suppress(OSError):
                conn.send(("stop",))
        for proc in self._procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.kill()
                proc.join(timeout=5)
        for conn in self._conns:
            conn.close()
        self._procs, self._conns = [], []


class RayEngine:
    """The shards as Ray actors, one per worker (``address``: an existing cluster, ``None``:
    a local instance started here with ``workers`` CPUs and stopped by :meth:`close`)."""

    name = "ray"

    #: Wall seconds to wait for a TCP connection to ``address`` before Ray is asked to join it
    #: (Ray itself retries an unreachable cluster for minutes).
    CONNECT_TIMEOUT_S = 5.0

    def __init__(
        self, workers: int, address: str | None = None, timeout_s: float = 600.0
    ) -> None:
        if address is not None:
            _check_ray_address(address, self.CONNECT_TIMEOUT_S)
        try:
            import ray
        except ImportError:
            raise SatnodeError(
                "--engine ray needs Ray: pip install 'satnode[cluster]' (the default engine, "
                "local processes, needs nothing)"
            ) from None
        if workers < 1:
            raise SatnodeError(f"--workers {workers}: must be >= 1")
        self._ray = ray
        self.workers = workers
        self.address = address
        self.timeout_s = float(timeout_s)
        self._actors: list[Any] = []
        self._parts: list[list[str]] = []
        self._started_here = False

    def start(self, plan: ConstellationPlan, parts: list[list[str]], out: Path) -> None:
        ray = self._ray
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": True}
            if self.address:
                kwargs["address"] = self.address
            else:
                kwargs["num_cpus"] = self.workers
                self._started_here = True
            # Our modules must import in the actors: put the package's parent on their path.
            root = str(Path(__file__).resolve().parent.parent)
            kwargs["runtime_env"] = {"env_vars": {"PYTHONPATH": os.pathsep.join(
                p for p in (root, os.environ.get("PYTHONPATH", "")) if p)}}  # fmt: skip
            try:
                ray.init(**kwargs)
            except Exception as exc:  # Ray's own connection errors vary by version
                raise SatnodeError(f"--engine ray: cannot start or reach Ray: {exc}") from None
        from ground.shard import Shard

        actor_cls = ray.remote(num_cpus=1)(Shard)
        self._parts = parts
        self._actors = [actor_cls.remote(plan, part, str(out)) for part in parts]
        self._get([a.ready.remote() for a in self._actors])  # built, imports done

    def _get(self, refs: list[Any]) -> list[Any]:
        ray = self._ray
        out = []
        for k, ref in enumerate(refs):
            try:
                out.append(ray.get(ref, timeout=self.timeout_s))
            except ray.exceptions.GetTimeoutError:
                raise WorkerError(
                    f"{_describe(k, self._parts[k])} (Ray actor) did not answer within "
                    f"{self.timeout_s:.0f} s; the run is stopped"
                ) from None
            except ray.exceptions.RayActorError as exc:
                raise WorkerError(
                    f"{_describe(k, self._parts[k])} (Ray actor) died: {exc}; the run is stopped"
                ) from None
            except ray.exceptions.RayTaskError as exc:
                raise WorkerError(f"{_describe(k, self._parts[k])} failed: {exc}") from None
        return out

    def step(
        self, inputs: list[IntervalInput], duration_s: float, sample_links: bool
    ) -> list[IntervalReport]:
        refs = [a.step.remote(i, duration_s, sample_links)
                for a, i in zip(self._actors, inputs, strict=True)]  # fmt: skip
        return self._get(refs)

    def finish(self) -> list[ShardResult]:
        return self._get([a.finish.remote() for a in self._actors])

    def close(self) -> None:
        for a in self._actors:
            with contextlib.suppress(Exception):  # an actor that is already gone
                self._ray.kill(a)
        self._actors = []
        if self._started_here and self._ray.is_initialized():
            self._ray.shutdown()
            self._started_here = False


def _check_ray_address(address: str, timeout_s: float) -> None:
    """Raise :class:`SatnodeError` unless ``address`` (``HOST:PORT`` or ``ray://HOST:PORT``;
    ``auto`` and ``local`` are left to Ray) accepts a TCP connection within ``timeout_s``."""
    if address in ("auto", "local"):
        return
    hostport = address.removeprefix("ray://")
    host, sep, port_text = hostport.rpartition(":")
    if not sep or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise SatnodeError(
            f"--address {address!r}: expected HOST:PORT or ray://HOST:PORT of a Ray cluster"
        )
    try:
        with socket.create_connection((host.strip("[]"), int(port_text)), timeout=timeout_s):
            pass
    except OSError as exc:
        raise SatnodeError(
            f"--address {address}: no Ray cluster answers there ({exc.strerror or exc}); "
            "start one with `ray start --head --port PORT`, or leave out --address to start a "
            "local instance"
        ) from None


def make_engine(
    engine: str, workers: int, *, address: str | None = None, timeout_s: float = 600.0
) -> Engine:
    """The engine named ``engine`` (``local`` or ``ray``) with ``workers`` workers."""
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise SatnodeError(f"--workers {workers!r}: must be an integer >= 1")
    if engine == "local":
        return InlineEngine() if workers == 1 else ProcessEngine(workers, timeout_s)
    if engine == "ray":
        return RayEngine(workers, address, timeout_s)
    raise SatnodeError(f"--engine {engine!r}: must be one of {', '.join(ENGINES)}")
