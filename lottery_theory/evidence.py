r"""Decisions with resolving power: a claim against its nearest rival (docs/verdicts.md).

A scaling row says "y grows like the claim's law f(x)" and names the rival law g(x) a referee would raise
first (for the ER factor: :math:`\rho(p)` against :math:`\rho(p)^{1.5}` or :math:`1/p^2`). On the grid of the
measurement both are straight lines in :math:`\log f`: the claim has slope 1, the rival slope
:math:`s_g` = least-squares slope of :math:`\log g(x)` on :math:`\log f(x)` over the grid's x. The decision
boundary is the midpoint :math:`(1 + s_g)/2`, so the claim's region is :math:`|b - 1| < |s_g - 1|/2`.

*Estimate.* Per seed, the least-squares slope :math:`b_s` of :math:`\log y` on :math:`\log f(x)` over the
seed's uncensored points (censored: at the grid's floor or above its ceiling, so only a bound on y is known;
such points are left out and named); the mean over seeds with a 95% Student-t interval (seed-to-seed spread).

*Verdict.* "holds" when the interval lies inside the claim's region (it then excludes the rival), "violated"
when it lies wholly outside it, else "inconclusive".

*Power.* Tables are re-drawn under the claim and under the rival with the measured noise: per seed the fitted
level, the law's shape, the measured residual spread (pooled over seeds) as log-normal noise, the same
quantisation to the measured grid and the same censoring; the row's own decision is run on each.
``power`` = P("holds" | claim), ``size`` = P("holds" | rival). A "holds" with power below the floor (0.9) is
reported as "inconclusive (power ...)".
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

POWER_FLOOR = 0.9  # a "holds" needs >= 0.9 probability of holding when the claim is true (issue: power >= 0.9)
N_SIM = 400  # simulated tables per law: the power's standard error is <= 0.025


@dataclass(frozen=True)
class Law:
    """A scaling law ``y ∝ f(x)`` (up to a constant factor); ``name`` as printed."""
    name: str
    f: Callable[[np.ndarray], np.ndarray]

    def __call__(self, x) -> np.ndarray:
        return np.asarray(self.f(np.asarray(x, float)), float)


def law_slope(law: Law, on: Law, xs) -> float:
    """Least-squares slope of log ``law`` on log ``on`` over ``xs`` (1 when they coincide on the grid)."""
    xs = np.unique(np.asarray(xs, float))
    if xs.size < 2:
        return np.nan
    u, v = np.log(on(xs)), np.log(law(xs))
    uc = u - u.mean()
    return float((uc * (v - v.mean())).sum() / (uc ** 2).sum())


def log_crossing(x0: float, x1: float, y0: float, y1: float, level: float) -> float:
    """Where ``y`` crosses ``level`` between two grid points ``(x0, y0)`` and ``(x1, y1)`` (``y0 > level >= y1``),
    linear in (log x, log y): a measurement between grid values instead of rounded to one. ``y1 = 0`` gives
    ``x0`` (log 0 = -inf)."""
    import math

    with np.errstate(divide="ignore"):
        l0, l1, lv = math.log(y0), float(np.log(y1)), math.log(level)
    return float(np.exp(math.log(x0) + (l0 - lv) / (l0 - l1) * (math.log(x1) - math.log(x0))))


def first_crossing(x, y, level: float) -> float:
    """Where ``y`` first falls to ``level`` along increasing ``x``: :func:`log_crossing` between the last point above
    it and the first at or below it; NaN when the first point is already at or below it (censored at the floor) or
    no point reaches it (above the ceiling)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    below = np.flatnonzero(y <= level)
    if not len(below) or below[0] == 0:
        return float("nan")
    i = int(below[0])
    return log_crossing(x[i - 1], x[i], y[i - 1], y[i], level)


def t_interval(x: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and two-sided Student-t interval (NaNs when fewer than 2 values)."""
    from scipy import stats

    x = np.asarray(x, float)
    if x.size < 2:
        return (float(x.mean()) if x.size else np.nan), np.nan, np.nan
    m = float(x.mean())
    h = float(stats.t.ppf(0.5 + level / 2, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size))
    return m, m - h, m + h


def region_verdict(lo: float, hi: float, center: float, half: float) -> str:
    """Interval [lo, hi] against the claim's region (center ± half): inside → holds; wholly outside →
    violated; else (or no interval) inconclusive."""
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return "inconclusive"
    if center - half < lo and hi < center + half:
        return "holds"
    if hi <= center - half or lo >= center + half:
        return "violated"
    return "inconclusive"


NEAR = 0.1  # "near the margin": an interval end within 10% of the interval's width of a boundary, or a power
#             within 0.05 of the floor: float noise on another CPU (or one more seed) may flip such a verdict


def near_margin(lo: float, hi: float, bounds, power: float = np.nan, floor: float = POWER_FLOOR) -> bool:
    """Whether a decision made from [lo, hi] against the region boundaries ``bounds`` (and a power floor) could flip
    under a small perturbation of the data: an interval end within NEAR x (hi - lo) of a boundary, or a power
    within 0.05 of the floor (pass NaN as ``power`` when the interval alone does not hold: power cannot flip it)."""
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return False
    w = max(hi - lo, 1e-12)
    close = any(min(abs(lo - b), abs(hi - b)) < NEAR * w for b in bounds)
    return bool(close or (np.isfinite(power) and abs(power - floor) < 0.05))


def fixed2(x: float) -> str:
    """``x`` to two decimals, never "-0.00": a value that is 0 up to float noise takes its sign from the CPU's libm,
    and a verdict's text must be the same bytes on every x86 CPU (a real negative that rounds to 0 prints "0.00")."""
    t = f"{x:.2f}"
    return "0.00" if t == "-0.00" else t


def powered(verdict: str, power: float, floor: float = POWER_FLOOR) -> str:
    """A "holds" whose power against the nearest rival is below ``floor`` is only "inconclusive"."""
    return "inconclusive" if verdict == "holds" and not power >= floor else verdict


@dataclass(frozen=True)
class Scaling:
    """A scaling row's decision: y ∝ ``claim``(x) against ``rival``(x), per-seed slopes, censoring, power.

    Tables have columns ``x``, ``seed``, ``y`` and optionally ``censored`` ("", "floor" or "above"). ``grid``
    (x -> sorted allowed y values) quantises the simulated tables as the measurement was (y rounded up to the
    grid; below its first value = censored at the floor, above its last = censored above). With ``quantise``
    False the measurement is continuous (e.g. interpolated between grid values): the grid only censors."""
    claim: Law
    rival: Law
    x: str = "x"
    y: str = "y"
    min_points: int = 3
    what: str = "y"
    xname: str = "p"
    quantise: bool = True

    # ---------------------------------------------------------------- the estimate and the verdict (arrays)
    def _slopes(self, x: np.ndarray, seed: np.ndarray, y: np.ndarray, ok: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per seed: slope of log y on log claim(x) over the uncensored points (seeds with < min_points x dropped);
        also the residuals of those fits."""
        slopes, res = [], []
        lf = np.log(self.claim(x))
        for s in np.unique(seed):
            m = (seed == s) & ok
            if np.unique(x[m]).size < self.min_points:
                continue
            u, v = lf[m], np.log(y[m])
            b, a = np.polyfit(u, v, 1)
            slopes.append(b)
            res.append(v - (a + b * u))
        return np.asarray(slopes), (np.concatenate(res) if res else np.zeros(0))

    def region(self, xs) -> tuple[float, float]:
        """(rival's slope on the grid, half-width of the claim's region)."""
        r = law_slope(self.rival, self.claim, np.unique(xs))
        return r, abs(r - 1) / 2

    def raw(self, x, seed, y, ok) -> tuple[str, float, float, float, int]:
        """(verdict before power, mean slope, lo, hi, seeds used)."""
        b, _ = self._slopes(x, seed, y, ok)
        m, lo, hi = t_interval(b)
        _, half = self.region(x[ok]) if ok.any() else (np.nan, np.nan)
        if b.size < 2 or not np.isfinite(half):
            return "inconclusive", m, lo, hi, b.size
        return region_verdict(lo, hi, 1.0, half), m, lo, hi, b.size

    # ---------------------------------------------------------------- power by simulation
    def simulate_many(self, law: Law, x, grid: Mapping | None, rng, levels: Mapping, sd: float,
                      n_sim: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``n_sim`` tables drawn under ``law`` at the grid's x with the per-seed ``levels`` and residual spread
        ``sd``, quantised and censored as the measurement: (x values, y of shape (n_sim, seeds, x), uncensored
        mask of the same shape). The noise is drawn table by table, seed by seed, x by x (one stream)."""
        xs = np.unique(x)
        lvl = np.array([levels[s] for s in levels], float)
        y = np.exp((lvl[:, None] + np.log(law(xs))[None, :])[None] + rng.normal(0, sd, (n_sim, lvl.size, xs.size)))
        ok = np.ones(y.shape, bool)
        for j, xi in enumerate(xs):
            if grid is None or xi not in grid:
                continue
            g, v = np.asarray(grid[xi], float), y[..., j]
            if not self.quantise:  # only censored: at or below the floor, or above the ceiling
                ok[..., j] = (g[0] < v) & (v <= g[-1])
                y[..., j] = np.minimum(v, g[-1])
            else:  # rounded up to the grid; at the floor or above the ceiling: censored
                i = np.searchsorted(g, v - 1e-9 * v)
                ok[..., j] = (i > 0) & (i < g.size)
                y[..., j] = g[np.minimum(i, g.size - 1)]
        return xs, y, ok

    def holds_many(self, xs: np.ndarray, y: np.ndarray, ok: np.ndarray) -> np.ndarray:
        """:meth:`raw`'s "holds" on each of many tables at once (y, ok of shape (tables, seeds, x)): per-seed
        least-squares slopes in closed form, the t-interval over the seeds with >= ``min_points`` points, the
        claim's region from the x values left uncensored in that table."""
        from scipy import stats

        u = np.log(self.claim(xs))[None, None, :]
        n = ok.sum(-1)
        w = ok.astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            v = np.where(ok, np.log(np.where(ok, y, 1.0)), 0.0)
            uc = np.where(ok, u - (w * u).sum(-1, keepdims=True) / n[..., None], 0.0)
            b = (uc * (v - (w * v).sum(-1, keepdims=True) / n[..., None])).sum(-1) / (uc ** 2).sum(-1)
            used = n >= self.min_points
            k = used.sum(-1)
            bm = np.where(used, b, 0.0)
            mean = bm.sum(-1) / k
            sd = np.sqrt(np.where(used, (b - mean[:, None]) ** 2, 0.0).sum(-1) / (k - 1))
            h = stats.t.ppf(0.975, np.maximum(k - 1, 1)) * sd / np.sqrt(k)
        halves: dict = {}
        present = ok.any(1)
        half = np.empty(len(y))
        for i, pat in enumerate(present):
            key = pat.tobytes()
            if key not in halves:
                halves[key] = self.region(xs[pat])[1] if pat.any() else np.nan
            half[i] = halves[key]
        lo, hi = mean - h, mean + h
        return (k >= 2) & np.isfinite(half) & np.isfinite(lo) & np.isfinite(hi) & (1 - half < lo) & (hi < 1 + half)

    def noise(self, x, seed, y, ok) -> float:
        """Residual spread of log y around a common slope with one level per seed (so the seeds' differing slopes
        count as noise): sqrt(RSS / (N - S - 1))."""
        seeds = np.unique(seed[ok])
        u, v = np.log(self.claim(x[ok])), np.log(y[ok])
        X = np.column_stack([u] + [(seed[ok] == s).astype(float) for s in seeds])
        if X.shape[0] <= X.shape[1]:
            return 0.0
        coef, *_ = np.linalg.lstsq(X, v, rcond=None)
        r = v - X @ coef
        return float(np.sqrt((r ** 2).sum() / (X.shape[0] - X.shape[1])))

    def power(self, x, seed, y, ok, grid=None, n_sim: int = N_SIM, rs: int = 0) -> tuple[float, float]:
        """(power, size): P(holds) on tables drawn under the claim and under the rival (module docstring);
        all ``n_sim`` tables of a law drawn and decided at once (:meth:`simulate_many`, :meth:`holds_many`)."""
        rng = np.random.default_rng(rs)
        if not ok.any():
            return 0.0, 0.0
        sd = max(self.noise(x, seed, y, ok), 1e-3)
        out = []
        for law in (self.claim, self.rival):
            levels = self.levels(law, x, seed, y, ok)
            out.append(float(self.holds_many(*self.simulate_many(law, x, grid, rng, levels, sd, n_sim)).mean()))
        return out[0], out[1]

    @staticmethod
    def levels(law: Law, x, seed, y, ok) -> dict:
        """Per seed (in sorted order): the level under ``law``, mean log y minus the law's shape over the seed's
        uncensored points (all uncensored points for a seed without any)."""
        out = {}
        for s in np.unique(seed):
            m = (seed == s) & ok
            xm, ym = (x[m], y[m]) if m.any() else (x[ok], y[ok])
            out[s] = float(np.mean(np.log(ym)) - np.mean(np.log(law(xm))))
        return out

    # ---------------------------------------------------------------- the row's decision on a table
    def arrays(self, t):
        """(x, seed, y, ok) of a table; ``ok`` marks the points that enter a fit: uncensored, finite, y > 0."""
        y = t[self.y].to_numpy(float)
        cens = t["censored"].fillna("").astype(str).to_numpy() if "censored" in t else np.full(len(t), "")
        return t[self.x].to_numpy(float), t["seed"].to_numpy(), y, (cens == "") & np.isfinite(y) & (y > 0)

    def decide(self, t, grid: Mapping | None = None, power: bool = True):
        """Verdict, measured text and extras (``power``, ``size``, ``seeds``, ``interval``) of a table."""
        x, seed, y, ok = self.arrays(t)
        cens = t["censored"].fillna("").astype(str).to_numpy() if "censored" in t else np.full(len(t), "")
        v, m, lo, hi, n = self.raw(x, seed, y, ok)
        r, half = self.region(x[ok]) if ok.any() else (np.nan, np.nan)
        pw, sz = self.power(x, seed, y, ok, grid) if power else (np.nan, np.nan)
        final = powered(v, pw) if power else v
        gm = {float(p): float(np.exp(np.log(y[(x == p) & ok]).mean())) for p in np.unique(x) if ((x == p) & ok).any()}
        txt = f"{self.what} (geometric mean over seeds) " + ", ".join(f"{self.xname}={p:g}: {k:.3g}" for p, k in
                                                                        sorted(gm.items(), reverse=True))
        bad = sorted({(float(p), c) for p, c in zip(x, cens) if c})
        if bad:
            txt += "; censored (left out): " + ", ".join(f"{self.xname}={p:g} {c}" for p, c in bad)
        txt += (f"; slope on log {self.claim.name}: {fixed2(m)} [{fixed2(lo)}, {fixed2(hi)}] ({n} seeds); rival "
                f"{self.rival.name} has slope {r:.2f} here; power vs rival {pw:.2f}, size {sz:.2f}")
        if final != v:
            txt += f" (would hold, but power {pw:.2f} < {POWER_FLOOR:g})"
        near = near_margin(lo, hi, (1 - half, 1 + half), pw if v == "holds" else np.nan)
        return final, txt, {"seeds": ",".join(str(int(s)) for s in np.unique(seed)), "power": pw, "size": sz,
                            "near": near,
                            "interval": f"claim region [{1 - half:.2f}, {1 + half:.2f}]"}


def paired_power(d, margin: float, mu_claim: float = 0.0, n_sim: int = 4000, seed: int = 0) -> tuple[float, float]:
    """Power and size of a seed-paired margin decision ("holds" when the 95% t-interval's lower end is >= margin)
    on ``len(d)`` seeds with the measured spread of ``d``: P(holds) when the true mean is ``mu_claim`` (the claim)
    and when it sits at ``margin`` (the nearest rival). Normal noise; ``seed`` fixes the simulation."""
    from scipy import stats

    d = np.asarray(d, float)
    n = d.size
    if n < 2:
        raise ValueError(f"power needs >= 2 seeds, got {n}")
    sd = max(float(d.std(ddof=1)), 1e-12)
    rng = np.random.default_rng(seed)
    q = stats.t.ppf(0.975, n - 1)

    def holds(mu: float) -> float:
        x = rng.normal(mu, sd, size=(n_sim, n))
        lo = x.mean(1) - q * x.std(1, ddof=1) / np.sqrt(n)
        return float((lo >= margin).mean())

    return holds(mu_claim), holds(margin)


def paired_seeds_needed(sd: float, margin: float, target: float = 0.97, n_max: int = 500) -> int:
    """Smallest number of seeds whose seed-paired margin decision (:func:`paired_power`, true mean 0, rival at
    ``margin``) has power >= ``target`` at paired spread ``sd``: an a-priori sample size from a spread measured on
    seeds that are not judged. Raises ``ValueError`` if ``n_max`` seeds are not enough."""
    if not (np.isfinite(sd) and sd > 0):
        raise ValueError(f"sd must be a positive number, got {sd!r}")
    for n in range(3, n_max + 1):
        z = np.arange(n, dtype=float)
        if paired_power(sd * (z - z.mean()) / z.std(ddof=1), margin)[0] >= target:
            return n
    raise ValueError(f"more than n_max={n_max} seeds needed for power {target} at sd {sd} and margin {margin}")


def estimate_power(sd: float, claim: float, rival: float, half: float | None = None, n_sim: int = N_SIM * 10,
                   seed: int = 0, z: float = 1.959964) -> tuple[float, float]:
    """Power and size of an interval decision on one estimate with standard error ``sd`` (e.g. a bootstrap over
    trials): "holds" when est ± z sd lies inside claim ± half (default: half the claim-rival distance).
    Normal sampling of the estimate under the claim and under the rival."""
    half = abs(rival - claim) / 2 if half is None else half
    rng = np.random.default_rng(seed)
    out = []
    for mu in (claim, rival):
        est = rng.normal(mu, max(sd, 1e-12), n_sim)
        out.append(float(((est - z * sd > claim - half) & (est + z * sd < claim + half)).mean()))
    return out[0], out[1]
