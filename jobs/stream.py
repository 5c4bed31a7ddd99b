"""``stream``: sensor (or the virtual WitMotion) -> queue -> ``StreamSession`` (the live stream job).

``SensorClient`` puts ``(t_ns, char_uuid, payload)`` and link events on an ``asyncio.Queue``;
``jobs.stream_session.consume`` feeds them to a ``StreamSession``, which decodes, detects reps live
(``on_rep``), writes landing batches, records the capture file (``--record``: the session writes every item
it is fed, so the recording is the live stream item for item) and merges at the end. The stream ends on
Ctrl-C, after ``duration_s``, or (virtual) once the simulated set has been played; ``--vl-stop`` is a cue.

``run_stream`` is the CLI's entry point; ``stream_async`` returns a ``StreamRun`` that also exposes the
client, the session and the virtual device's truth (tests and the benchmark measure against it).
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec

from ingest.ble.client import LinkLostError, LinkPolicy, QueueItem, SensorClient, SensorClientError
from ingest.ble.virtual import VirtualLink
from ingest.ble.virtual_witmotion import RadioModel, SimulatedSet, VirtualDeviceError, VirtualWitMotion
from jobs.stream_session import StreamSession, consume

MAX_DEVICE_RATE_HZ = 200.0
QUIET_S = 0.3  # after the simulated set ends: done once nothing new arrived for this long
DRAIN_MAX_S = 30.0

if TYPE_CHECKING:
    from store.lake import LakeConfig

P = ParamSpec("P")


class StreamError(Exception):
    """An expected failure of ``stream`` (no sensor, configuration refused, bad options): one line."""


STREAM_ERRORS: tuple[type[Exception], ...] = (StreamError, SensorClientError)
"""``stream`` could not start (no sensor, configuration refused, bad options): exit code 1."""


@dataclass
class StreamRun:
    """What one stream did: the JSON document plus the live objects behind it."""

    doc: dict[str, Any]
    client: SensorClient
    session: StreamSession
    device: VirtualWitMotion | None = None
    rep_times_ns: list[int] = field(default_factory=list)  # monotonic time at which each on_rep fired


VIRTUAL_ONE_RM_KG: dict[str, float] = {
    "back_squat": 140.0,
    "front_squat": 115.0,
    "deadlift": 170.0,
    "romanian_deadlift": 130.0,
    "bench_press": 100.0,
    "overhead_press": 60.0,
    "hip_thrust": 160.0,
    "lunge": 80.0,
    "split_squat": 80.0,
    "bulgarian_split_squat": 70.0,
    "step_up": 70.0,
}
"""The virtual lifter's 1RM per exercise (kg): plausible values for a trained recreational runner
who lifts. Fixed per exercise (not derived from the load), so heavier loads are slower."""
VIRTUAL_ONE_RM_DEFAULT_KG = 100.0


def virtual_one_rm(exercise: str, load_kg: float, one_rm_kg: float | None = None) -> float:
    """The simulated 1RM for a virtual set: ``one_rm_kg`` if given, else the exercise's table value.

    A load at or above that 1RM cannot be lifted for reps: it is a ``StreamError``.
    """
    one_rm = float(one_rm_kg) if one_rm_kg is not None else VIRTUAL_ONE_RM_KG.get(exercise, VIRTUAL_ONE_RM_DEFAULT_KG)
    if not load_kg < one_rm:
        raise StreamError(
            f"--load-kg {load_kg:g} is not below the virtual lifter's 1RM ({one_rm:g} kg "
            f"for {exercise}); use a lighter load"
        )
    return one_rm


def _check(
    address: str | None,
    name: str | None,
    virtual: bool,
    rate_hz: float | None,
    virtual_loss: float,
    virtual_rate_hz: float | None,
    duration_s: float | None,
    virtual_disconnect_at: float | None,
) -> None:
    if sum((address is not None, name is not None, bool(virtual))) != 1:
        raise StreamError("give exactly one of an address, a name or --virtual")
    if not virtual and (virtual_loss or virtual_rate_hz is not None or virtual_disconnect_at is not None):
        raise StreamError("--virtual-loss, --virtual-rate-hz and --virtual-disconnect-at need --virtual")
    if not 0.0 <= virtual_loss < 1.0:
        raise StreamError(f"--virtual-loss must be in [0, 1), got {virtual_loss}")
    if virtual_rate_hz is not None and virtual_rate_hz <= 0:
        raise StreamError("--virtual-rate-hz must be positive")
    if rate_hz is not None and virtual_rate_hz is not None and rate_hz != virtual_rate_hz:
        raise StreamError("give --rate-hz or --virtual-rate-hz, not both")
    if duration_s is not None and duration_s <= 0:
        raise StreamError("--duration must be positive")


def _install_interrupt(stop: asyncio.Event, ended: list[str]) -> Callable[[], None]:
    """Ctrl-C ends the stream cleanly (the session still closes and merges)."""
    loop = asyncio.get_running_loop()

    def on_sigint() -> None:
        ended.append("interrupt")
        stop.set()

    try:
        loop.add_signal_handler(signal.SIGINT, on_sigint)
    except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or no signals here
        return lambda: None

    def remove() -> None:
        loop.remove_signal_handler(signal.SIGINT)

    return remove


async def stream_async(
    *,
    db_path: str | Path,
    athlete: str,
    exercise: str,
    load_kg: float,
    address: str | None = None,
    name: str | None = None,
    virtual: bool = False,
    sensor: str = "auto",
    rate_hz: float | None = None,
    duration_s: float | None = None,
    record: str | Path | None = None,
    vl_stop_pct: float | None = None,
    reps: int = 5,
    seed: int = 0,
    virtual_loss: float = 0.0,
    virtual_disconnect_at: float | None = None,
    virtual_rate_hz: float | None = None,
    wait_s: float = 30.0,
    on_rep: Callable[[dict[str, Any]], None] | None = None,
    on_message: Callable[[str], None] | None = None,
    virtual_motion: SimulatedSet | None = None,
    virtual_connection_interval_s: float | None = None,
    virtual_frames_per_notification: int = 1,
    policy: LinkPolicy | None = None,
    virtual_one_rm_kg: float | None = None,
    lake: LakeConfig | None = None,
) -> StreamRun:
    """The stream as a coroutine; see ``run_stream``.

    Beyond the CLI's options: ``virtual_motion`` replaces the simulated set, and
    ``virtual_connection_interval_s`` / ``virtual_frames_per_notification`` turn on the device's
    connection-event bunching and frame packing (see ``RadioModel``). ``virtual_one_rm_kg`` is the
    simulated lifter's 1RM (default: ``VIRTUAL_ONE_RM_KG`` for the exercise), so heavier loads are
    slower and virtual sessions at several loads give a real load-velocity profile.
    """
    _check(address, name, virtual, rate_hz, virtual_loss, virtual_rate_hz, duration_s, virtual_disconnect_at)
    say = on_message or (lambda _m: None)
    device: VirtualWitMotion | None = None
    scanner_backend = client_backend = None
    device_rate_hz = virtual_rate_hz if virtual_rate_hz is not None else rate_hz
    client_rate_hz = rate_hz
    if virtual:
        stress = device_rate_hz is not None and device_rate_hz > MAX_DEVICE_RATE_HZ
        client_rate_hz = MAX_DEVICE_RATE_HZ if stress else device_rate_hz
        if stress:
            say(f"virtual device at {device_rate_hz:g} Hz: a stress test, the real WitMotion stops at 200 Hz")
        motion = virtual_motion
        if motion is None:
            from sim.barbell import simulate_session

            one_rm = virtual_one_rm(exercise, load_kg, virtual_one_rm_kg)
            motion = simulate_session(
                exercise, load_kg, reps, rate_hz=device_rate_hz or MAX_DEVICE_RATE_HZ, seed=seed, one_rm_kg=one_rm
            )
        link = VirtualLink()
        try:
            radio = RadioModel(
                connection_interval_s=virtual_connection_interval_s,
                loss=virtual_loss,
                disconnect_at_s=virtual_disconnect_at,
                seed=seed,
                frames_per_notification=virtual_frames_per_notification,
            )
            device = VirtualWitMotion(link, motion, radio=radio, stress_rate_hz=device_rate_hz if stress else None)
        except VirtualDeviceError as exc:
            raise StreamError(str(exc)) from exc
        await device.start()
        name, scanner_backend, client_backend = device.name, link.scanner_backend, link.client_backend

    queue: asyncio.Queue[QueueItem] = asyncio.Queue()
    client = SensorClient(
        queue,
        address=address,
        name=name,
        sensor=sensor,
        rate_hz=client_rate_hz,
        policy=policy,
        scanner_backend=scanner_backend,
        client_backend=client_backend,
        on_message=say,
    )
    started_at, anchor_t_ns = datetime.now(UTC), time.monotonic_ns()
    try:
        await client.connect()
    except SensorClientError as exc:
        if device is not None:
            await device.close()
        raise StreamError(str(exc)) from exc
    assert client.profile is not None and client.device is not None

    run: StreamRun

    def rep_seen(rep: dict[str, Any]) -> None:
        run.rep_times_ns.append(time.monotonic_ns())
        if on_rep is not None:
            on_rep(rep)

    def vl_cue(rep: dict[str, Any]) -> None:
        say(f"velocity loss {rep.get('velocity_loss_pct', 0.0):.1f}% reached the {vl_stop_pct:g}% stop: end the set")

    session = StreamSession(
        client.profile,
        db_path=db_path,
        athlete=athlete,
        exercise=exercise,
        load_kg=load_kg,
        started_at=started_at,
        anchor_t_ns=anchor_t_ns,
        device_address=client.device.address,
        device_name=client.device.name,
        configured_rate_hz=device_rate_hz if virtual else client.rate_hz,
        vl_stop_pct=vl_stop_pct,
        on_rep=rep_seen,
        on_vl_stop=vl_cue,
        on_message=say,
        wait_s=wait_s,
        capture_path=record,
        lake=lake,
    )
    run = StreamRun({}, client, session, device)
    # The consumer shares the loop (a worker thread was tried: at 1 kHz the GIL convoy between a busy
    # consumer thread and the select-driven loop stalled the link for seconds).
    consumer = asyncio.create_task(consume(queue, session, close=False))

    stop = asyncio.Event()
    ended: list[str] = []
    remove_interrupt = _install_interrupt(stop, ended)
    loop = asyncio.get_running_loop()
    timers = []
    if duration_s is not None:

        def end_of_duration() -> None:
            ended.append("duration")
            stop.set()

        timers.append(loop.call_later(duration_s, end_of_duration))

    async def end_of_set() -> None:
        """The simulated set is over once the device has played it and the link has delivered its backlog."""
        assert device is not None
        await device.finished.wait()
        deadline = loop.time() + DRAIN_MAX_S
        seen, quiet_since = -1, loop.time()
        while loop.time() < deadline:
            arrived = session.notifications + queue.qsize()
            if arrived != seen:
                seen, quiet_since = arrived, loop.time()
            elif loop.time() - quiet_since >= QUIET_S:
                break
            await asyncio.sleep(0.05)
        ended.append("end_of_set")
        stop.set()

    watcher = asyncio.create_task(end_of_set()) if device is not None else None
    error: str | None = None
    try:
        await client.run(stop)
    except LinkLostError as exc:
        error = str(exc)
        ended.append("link_lost")
        say(error)
    finally:
        remove_interrupt()
        for timer in timers:
            timer.cancel()
        if watcher is not None:
            watcher.cancel()
        if device is not None:
            await device.stop_streaming()  # no backlog left on a link that is about to close
        await client.close()
        if device is not None:
            await device.close()
        queue.put_nowait(None)  # type: ignore[arg-type]
        await consumer
    doc = session.close(time.monotonic_ns())
    doc["stream"]["ended_by"] = ended[0] if ended else "interrupt"
    if error is not None:
        doc["error"] = error
    run.doc = doc
    return run


def _blocking(coroutine: Callable[P, Coroutine[Any, Any, StreamRun]]) -> Callable[P, dict[str, Any]]:
    """The coroutine run to its end on a fresh event loop, returning its document (same parameters)."""

    def run(*args: P.args, **kwargs: P.kwargs) -> dict[str, Any]:
        return asyncio.run(coroutine(*args, **kwargs)).doc

    return run


run_stream = _blocking(stream_async)
"""Stream one sensor until Ctrl-C, ``duration_s`` or (virtual) the end of the simulated set; the
parameters of :func:`stream_async`.

Returns the ``replay`` document plus ``"stream": {notifications, samples, lost_samples, reconnects,
gaps, ended_by}``; when the link was lost for good, an ``"error"`` line too (the data up to then is
stored). Raises ``StreamError`` (one line) when streaming could not start.
"""
