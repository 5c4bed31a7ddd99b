"""Velocity-profile segments with exact velocity, acceleration and displacement, and a track of them.

Families (each segment maps local time ``s`` in ``[0, h]`` to velocity, acceleration and the
displacement since its start, all analytic):

* :class:`Hold` - bar still, v = 0;
* :class:`Ramp` - velocity moves from v0 to v1 along a smoothstep: ``minjerk``
  (10 tau^3 - 15 tau^4 + 6 tau^5, the position profile of Flash & Hogan's 1985 minimum-jerk
  movement, here shaping velocity) or ``cosine`` (raised cosine, (1 - cos pi tau)/2). Chains of
  ramps through via-points make piecewise minimum-jerk or raised-cosine profiles; half ramps arrive
  at or leave zero velocity with a finite acceleration;
* :class:`BetaPulse` - a skewed rest-to-rest pulse ``V tau^p (1 - tau)^q / max``; p < q peaks
  early, q > 2 tapers slowly into the end; displacement via the regularised incomplete beta function;
* :class:`SplineSegment` - a C2 cubic spline (or a shape-preserving PCHIP) through knots, the kind
  of curve one draws through a measured velocity trace;
* :class:`DampedSine` - ``B exp(-s/tau) sin(w s)``: sway or settling after lockout, and (tau = inf)
  breathing while standing.

A :class:`Track` concatenates segments with continuous velocity and evaluates v, a and z at any times.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy.interpolate import CubicSpline, PchipInterpolator, PPoly
from scipy.optimize import brentq
from scipy.special import beta as beta_fn
from scipy.special import betainc


class Segment:
    """A piece of a velocity profile on local time [0, duration_s]."""

    duration_s: float

    def v(self, s: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def a(self, s: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def z(self, s: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def end(self) -> tuple[float, float, float]:
        """(v, a, displacement) at the end of the segment."""
        h = np.array([self.duration_s])
        return float(self.v(h)[0]), float(self.a(h)[0]), float(self.z(h)[0])

    def start(self) -> tuple[float, float]:
        """(v, a) at the start of the segment."""
        o = np.array([0.0])
        return float(self.v(o)[0]), float(self.a(o)[0])


@dataclass
class Hold(Segment):
    duration_s: float

    def v(self, s: np.ndarray) -> np.ndarray:
        return np.zeros_like(s, dtype=float)

    a = v
    z = v


_SMOOTHSTEPS = ("minjerk", "cosine")


def _smoothstep(kind: str, x: float) -> float:
    return x**3 * (10 - 15 * x + 6 * x * x) if kind == "minjerk" else 0.5 * (1 - np.cos(np.pi * x))


def _smoothstep_slope(kind: str, x: float) -> float:
    return 30 * x * x * (1 - x) ** 2 if kind == "minjerk" else 0.5 * np.pi * np.sin(np.pi * x)


def _crossing_tau(kind: str, c: float) -> float:
    """tau in [0.5, 1) where a ramp from v to -c v crosses zero: S(tau) = 1 / (1 + c)."""
    if not 0 < c <= 1:
        raise ValueError(f"c must be within (0, 1], got {c}")
    target = 1.0 / (1.0 + c)
    if kind == "cosine":
        return float(np.arccos(1 - 2 * target) / np.pi)
    return float(brentq(lambda x: _smoothstep(kind, x) - target, 0.5 - 1e-12, 1.0, xtol=1e-14))


@dataclass
class Ramp(Segment):
    """v(s) = v0 + (v1 - v0) S(tau), tau = (s + offset_s) / full_s, S a smoothstep (zero slope at 0 and 1).

    By default ``full_s = duration_s`` and ``offset_s = 0``: the whole ramp from v0 to v1. A part of a
    longer ramp is used to arrive at or leave zero velocity with a finite acceleration
    (:meth:`to_zero`, :meth:`from_zero`).
    """

    duration_s: float
    v0: float
    v1: float
    kind: str = "minjerk"
    full_s: float | None = None
    offset_s: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in _SMOOTHSTEPS:
            raise ValueError(f"kind must be one of {_SMOOTHSTEPS}, got {self.kind!r}")
        if not self.duration_s > 0:
            raise ValueError(f"duration_s must be > 0, got {self.duration_s}")
        if self.full_s is None:
            self.full_s = self.duration_s
        self._full: float = self.full_s  # full_s once defaulted (the methods need a float)
        if self.offset_s < 0 or self.offset_s + self.duration_s > self.full_s * (1 + 1e-12):
            raise ValueError("the part [offset_s, offset_s + duration_s] must lie within [0, full_s]")
        self._z0 = float(self._zfull(np.array([self.offset_s / self.full_s]))[0])

    @classmethod
    def to_zero(cls, duration_s: float, v_from: float, kind: str = "minjerk", c: float = 1.0) -> Ramp:
        """From v_from (zero slope) to 0 with a finite slope: the part of a ramp from v_from to -c v_from
        up to its zero crossing (c = 1: the crossing is the steepest point; smaller c, gentler)."""
        tc = _crossing_tau(kind, c)
        return cls(duration_s, v_from, -c * v_from, kind, full_s=duration_s / tc)

    @classmethod
    def from_zero(cls, duration_s: float, v_to: float, kind: str = "minjerk", c: float = 1.0) -> Ramp:
        """From 0 (finite slope) to v_to (zero slope): the part of a ramp from -c v_to to v_to after its
        zero crossing."""
        tc = _crossing_tau(kind, c)
        full = duration_s / tc
        return cls(duration_s, -c * v_to, v_to, kind, full_s=full, offset_s=full - duration_s)

    @staticmethod
    def crossing_gain(kind: str, c: float) -> float:
        """|slope at zero| * duration / |v|  of :meth:`to_zero` and :meth:`from_zero` (increasing in c)."""
        tc = _crossing_tau(kind, c)
        return float((1 + c) * _smoothstep_slope(kind, tc) * tc)

    @staticmethod
    def fraction_for(kind: str, gain: float) -> float:
        """The c of :meth:`to_zero` / :meth:`from_zero` with the given crossing gain (c = 1 if out of reach)."""
        if gain >= Ramp.crossing_gain(kind, 1.0):
            return 1.0
        lo = 1e-4
        if gain <= Ramp.crossing_gain(kind, lo):
            return lo
        return float(brentq(lambda c: Ramp.crossing_gain(kind, c) - gain, lo, 1.0, xtol=1e-10))

    def _tau(self, s: np.ndarray) -> np.ndarray:
        s = np.clip(np.asarray(s, float), 0.0, self.duration_s)
        return (s + self.offset_s) / self._full

    def v(self, s: np.ndarray) -> np.ndarray:
        x = self._tau(s)
        st = x**3 * (10 - 15 * x + 6 * x * x) if self.kind == "minjerk" else 0.5 * (1 - np.cos(np.pi * x))
        return self.v0 + (self.v1 - self.v0) * st

    def a(self, s: np.ndarray) -> np.ndarray:
        x = self._tau(s)
        ds = 30 * x * x * (1 - x) ** 2 if self.kind == "minjerk" else 0.5 * np.pi * np.sin(np.pi * x)
        return (self.v1 - self.v0) * ds / self._full

    def _zfull(self, x: np.ndarray) -> np.ndarray:
        si = x**4 * (2.5 - 3 * x + x * x) if self.kind == "minjerk" else 0.5 * x - np.sin(np.pi * x) / (2 * np.pi)
        return self._full * (self.v0 * x + (self.v1 - self.v0) * si)

    def z(self, s: np.ndarray) -> np.ndarray:
        return self._zfull(self._tau(s)) - self._z0


@dataclass
class BetaPulse(Segment):
    """v(s) = V tau^p (1 - tau)^q / m, m = max of tau^p (1 - tau)^q: peak V at tau = p / (p + q)."""

    duration_s: float
    peak_mps: float
    p: float
    q: float

    def __post_init__(self) -> None:
        if self.p < 1 or self.q < 1:
            raise ValueError(f"p and q must be >= 1 (finite slopes), got {self.p}, {self.q}")
        tp = self.p / (self.p + self.q)
        self._m = tp**self.p * (1 - tp) ** self.q

    @staticmethod
    def peak_for(displacement_m: float, duration_s: float, p: float, q: float) -> float:
        """Peak velocity of the pulse covering displacement_m in duration_s."""
        tp = p / (p + q)
        m = tp**p * (1 - tp) ** q
        return float(displacement_m * m / (duration_s * beta_fn(p + 1, q + 1)))

    def _tau(self, s: np.ndarray) -> np.ndarray:
        return np.clip(np.asarray(s, float) / self.duration_s, 0.0, 1.0)

    def v(self, s: np.ndarray) -> np.ndarray:
        x = self._tau(s)
        result: npt.NDArray[np.float64] = self.peak_mps * x**self.p * (1 - x) ** self.q / self._m
        return result

    def a(self, s: np.ndarray) -> np.ndarray:
        x = self._tau(s)
        p, q = self.p, self.q
        result: npt.NDArray[np.float64] = (
            self.peak_mps / (self._m * self.duration_s) * x ** (p - 1) * (1 - x) ** (q - 1) * (p - (p + q) * x)
        )
        return result

    def z(self, s: np.ndarray) -> np.ndarray:
        x = self._tau(s)
        p, q = self.p, self.q
        result: npt.NDArray[np.float64] = (
            self.peak_mps * self.duration_s / self._m * beta_fn(p + 1, q + 1) * betainc(p + 1, q + 1, x)
        )
        return result


@dataclass
class SplineSegment(Segment):
    """Cubic spline through knots (local times from 0, velocities); ``clamped`` C2 spline with the given
    end slopes, or ``pchip`` (shape preserving, no overshoot between knots)."""

    knots_s: np.ndarray
    knots_v: np.ndarray
    kind: str = "clamped"
    slopes: tuple[float, float] = (0.0, 0.0)
    duration_s: float = field(init=False)

    def __post_init__(self) -> None:
        ks = np.asarray(self.knots_s, float)
        kv = np.asarray(self.knots_v, float)
        if ks[0] != 0.0 or np.any(np.diff(ks) <= 0):
            raise ValueError("knot times must start at 0 and increase")
        if self.kind == "clamped":
            sp: PPoly = CubicSpline(ks, kv, bc_type=((1, self.slopes[0]), (1, self.slopes[1])))
        elif self.kind == "pchip":
            sp = PchipInterpolator(ks, kv)
        else:
            raise ValueError(f"kind must be 'clamped' or 'pchip', got {self.kind!r}")
        self.duration_s = float(ks[-1])
        self._v = PPoly(sp.c, sp.x)
        self._a = self._v.derivative()
        self._z = self._v.antiderivative()

    def _s(self, s: np.ndarray) -> np.ndarray:
        result: npt.NDArray[np.float64] = np.clip(np.asarray(s, float), 0.0, self.duration_s)
        return result

    def v(self, s: np.ndarray) -> np.ndarray:
        result: npt.NDArray[np.float64] = self._v(self._s(s))
        return result

    def a(self, s: np.ndarray) -> np.ndarray:
        result: npt.NDArray[np.float64] = self._a(self._s(s))
        return result

    def z(self, s: np.ndarray) -> np.ndarray:
        result: npt.NDArray[np.float64] = self._z(self._s(s))
        return result


@dataclass
class DampedSine(Segment):
    """v(s) = B exp(-s/tau) sin(w s); starts at v = 0 with a = B w. Use a whole number of half periods
    so that it also ends at v = 0."""

    duration_s: float
    amp_mps: float
    omega_radps: float
    decay_s: float = np.inf

    def v(self, s: np.ndarray) -> np.ndarray:
        s = np.clip(np.asarray(s, float), 0.0, self.duration_s)
        return self.amp_mps * np.exp(-s / self.decay_s) * np.sin(self.omega_radps * s)

    def a(self, s: np.ndarray) -> np.ndarray:
        s = np.clip(np.asarray(s, float), 0.0, self.duration_s)
        lam, w = 1.0 / self.decay_s, self.omega_radps
        return self.amp_mps * np.exp(-lam * s) * (w * np.cos(w * s) - lam * np.sin(w * s))

    def z(self, s: np.ndarray) -> np.ndarray:
        s = np.clip(np.asarray(s, float), 0.0, self.duration_s)
        lam, w = 1.0 / self.decay_s, self.omega_radps
        e = np.exp(-lam * s)
        return self.amp_mps / (w * w + lam * lam) * (w - e * (lam * np.sin(w * s) + w * np.cos(w * s)))


class Track:
    """Segments placed end to end from t = 0, with continuous velocity; evaluates v, a, z anywhere
    (before 0 and after the end the bar holds still)."""

    def __init__(self) -> None:
        self.starts: list[float] = []
        self.segments: list[Segment] = []
        self.z0: list[float] = []
        self.now = 0.0
        self.z_end = 0.0
        self.v_end = 0.0
        self.a_end = 0.0

    def add(self, seg: Segment) -> float:
        """Append seg; returns its start time."""
        if not seg.duration_s > 0:
            raise ValueError(f"segment duration must be > 0, got {seg.duration_s}")
        v0, _ = seg.start()
        if abs(v0 - self.v_end) > 1e-9:
            raise ValueError(f"velocity jump at t={self.now:.4f}: {self.v_end:.6f} -> {v0:.6f}")
        start = self.now
        self.starts.append(start)
        self.segments.append(seg)
        self.z0.append(self.z_end)
        v1, a1, dz = seg.end()
        self.now += seg.duration_s
        self.z_end += dz
        self.v_end, self.a_end = v1, a1
        return start

    def hold(self, duration_s: float) -> None:
        if abs(self.v_end) > 1e-9:
            raise ValueError("a hold must start at zero velocity")
        if duration_s > 1e-9:
            self.add(Hold(duration_s))

    def _eval(self, t: np.ndarray, what: str) -> np.ndarray:
        t = np.asarray(t, float)
        out = np.zeros(t.shape)
        if not self.segments:
            return out
        starts = np.array(self.starts)
        idx = np.searchsorted(starts, t, side="right") - 1
        for i in np.unique(idx):
            m = idx == i
            if i < 0:
                if what == "z":
                    out[m] = 0.0
                continue
            seg = self.segments[i]
            s = t[m] - starts[i]
            if i == len(self.segments) - 1:
                after = s > seg.duration_s
            else:
                after = np.zeros(s.shape, bool)
            if what == "v":
                r = seg.v(s)
            elif what == "a":
                r = seg.a(s)
            else:
                r = self.z0[i] + seg.z(s)
            if after.any():  # past the last segment: still
                r = np.where(after, self.z_end if what == "z" else 0.0, r)
            out[m] = r
        return out

    def v(self, t: np.ndarray) -> np.ndarray:
        return self._eval(t, "v")

    def a(self, t: np.ndarray) -> np.ndarray:
        return self._eval(t, "a")

    def z(self, t: np.ndarray) -> np.ndarray:
        return self._eval(t, "z")
