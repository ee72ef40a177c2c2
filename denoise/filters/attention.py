"""Attention: patch groups combined by closed-form weights, in stages.

Read as attention: the query is a reference patch, the keys are the patches of
its search window, and the group of its k best matches attends to itself with
weights that minimise an estimate of the risk (NL-Ridge) instead of a softmax.
Every estimate of every group member is pasted back, and each pixel averages
the estimates covering it (weights from the group's variance reduction).

* Stage 1 ("ridge attention") matches the noisy image's patches and combines
  each group Y (k x n) by ``Theta = I - (1 + alpha) n s^2 (Y Y^T + alpha n s^2 I)^-1``.
* Each later stage (the "flow") re-matches on the previous estimate, the pilot X,
  and maps the noisy group through the pilot's statistics: an empirical Wiener
  filter ``m + (Y - m)(I - s^2 (C_X + s^2 I)^-1)`` (NL-Bayes step 2) or the ridge
  ``Theta = I - n s^2 (X X^T + n s^2 I)^-1`` (NL-Ridge step 2), the cheaper side.

Color images are turned into orthonormal luma and chroma (the noise stays white,
with the same sigma), matched on luma, and each channel of a group is combined
by its own weights (n = p^2): chroma, smooth in natural images, is averaged far
more than luma. References lie on a grid of the given stride
(plus the last row and column) anchored at the frame's origin, so a tile of a
larger image, given its place (:func:`locate`), meets the same references.
"""
import dataclasses
from typing import NamedTuple

import numpy as np

from .._config import run_bands
from .._validate import check_bool, check_choice, check_int, check_intensity, check_positive
from ..errors import InvalidParameterError
from ..registry import Setup, register
from ._attention_kernels import Inputs, Stage, attend_band, band_buffers, band_rows
from ._features import POSITIONS, REACH, features, fit_basis, position_form
from ._weights import reflect_index

VALUES = ("wiener", "ridge", "identity")
WEIGHTS = ("ridge", "softmax")
AGGREGATES = ("group", "pixel")
#: softmax temperature h = H_FACTOR sigma: on Set12 at sigma 25 (one stage, top 32)
#: 0.4 / 0.5 / 0.6 / 0.7 scored 29.18 / 29.21 / 29.13 / 28.98 dB
H_FACTOR = 0.5
#: h = H_FACTOR_PCA sigma when the weights compare PCA features (fewer values, so a
#: noisier distance): 24 features, 0.7 / 0.8 scored 29.58 / 29.59 dB (16: 0.6 / 0.8 /
#: 1.0 gave 29.44 / 29.48 / 29.43)
H_FACTOR_PCA = 0.8

#: LIChI's schedule for three stages and more: stage i > 0 of n keeps a fraction
#: TAU (1 - i / (n - 1)) of the noise in the image the next stage filters
TAU = 0.75

# Defaults by sigma (8-bit units): (sigma_max, stage-1 patch side, stage-1 group size),
# from NL-Ridge's table (ALGORITHMS.md 5.4.5.4).
TABLE = ((15.0, 7, 18), (35.0, 9, 18), (np.inf, 11, 20))


class Config(NamedTuple):
    stages: tuple          # of (Stage, value map name)
    origin: tuple          # (row, col) of the image's first pixel in its frame
    dims: tuple            # PCA features matched in each stage (0: full patches)
    seed: int              # of the PCA basis' sample
    position: str          # the positional term (POSITIONS)
    width: float           # its width (pixels)
    sigma: float           # noise level (working units)
    bases: tuple = None    # fitted PCA bases, one per stage (None: full patches)


# --- driver ---------------------------------------------------------------------------

def grid(n, f, stride, origin):
    """Reference centres along an axis of n pixels: those at f + stride i in the frame
    (origin: the first pixel's place in it) whose patch fits, and the first and last
    that fit, so every pixel is covered (stride <= patch side)."""
    centres = [f] + list(range(f + (-origin) % stride, n - f, stride)) + [n - 1 - f]
    return np.unique(np.array(centres, dtype=np.int64))


def _bands(rows, stage, origin):
    """(n, 2) first/last+1 indices into `rows` of each band of one parity, for both
    parities: bands are fixed rows of the frame, so a tile sees the same ones."""
    ids = (rows + origin) // band_rows(stage)
    parities = []
    for parity in (0, 1):
        spans = [(np.searchsorted(ids, b), np.searchsorted(ids, b, side="right"))
                 for b in np.unique(ids) if b % 2 == parity]
        parities.append(np.array(spans, dtype=np.int64).reshape(-1, 2))
    return parities


def _stage(work, pilot, stage, config, basis, values=None):
    """One stage on the channel planes `work` (C, H, W), matching on the first plane
    of `pilot` (of `work` in the first stage), or on its PCA features if a `basis`
    is given; returns the estimate's planes and, for a progressive stage that
    re-injects noise, the next Z (else None). `values`: Z (progressive stages)."""
    n_channels, height, width = work.shape
    origin = config.origin
    f = min(stage.f, (min(height, width) - 1) // 2)
    pilot = work if pilot is None else pilot
    if basis is not None and f == stage.f:
        guide, fm = features(pilot[0], basis, f), 0
    else:
        guide, fm = np.ascontiguousarray(pilot[0, :, :, None]), f
    stage = stage._replace(f=f, fm=fm, k=min(stage.k, (2 * stage.d + 1) ** 2),
                           feat=stage.feat and fm == 0)
    q = np.zeros((3, 1, 1), np.float32)
    if config.position != "none":
        q = position_form(pilot[0], config.position, config.width, config.sigma)
    rows = grid(height, f, stage.stride, origin[0])
    cols = grid(width, f, stage.stride, origin[1])
    num = np.zeros(work.shape, np.float64)        # every pixel's sums, added in a fixed
    den = np.zeros(work.shape, np.float64)        # order (bands fixed in the frame)
    keep = stage.progressive and stage.tau > 0
    num_z, den_z = (np.zeros(work.shape, np.float64) if keep else np.zeros((1, 1, 1))
                    for _ in range(2))
    m = f + stage.d
    inp = Inputs(work, pilot, work if values is None else values, guide, q, rows, cols,
                 reflect_index(height, m), reflect_index(width, m))
    for spans in _bands(rows, stage, origin[0]):
        if len(spans):
            run_bands(attend_band, len(spans), spans, inp, num, den,
                      True if stage.softmax else None,
                      (num_z, den_z) if stage.progressive else None,
                      True if stage.pixel else None, stage,
                      buffers=lambda: band_buffers(stage, width, len(cols), guide.shape[2]))
    prior = work if values is None else values
    return _ratio(num, den, work), _ratio(num_z, den_z, prior) if keep else None


def _ratio(num, den, fallback):
    """num / den as float32; where no estimate landed (den 0: every aggregation weight
    underflowed, e.g. at a noise level near 1e-30 of the range) the pixel keeps
    `fallback`'s value instead of becoming NaN."""
    empty = den == 0
    out = np.divide(num, den, out=np.zeros(num.shape, np.float64), where=~empty)
    if empty.any():
        out[empty] = fallback[empty]
    return out.astype(np.float32)


#: Orthonormal luma / chroma (NL-Bayes): white noise stays white with the same sigma
#: in every channel, and luma, the first, is what is matched.
YUV = np.array([[1, 1, 1], [1, 0, -1], [0.5, -1, 0.5]]) / np.sqrt([[3], [2], [1.5]])


def _planes(work):
    """(C, H, W) channel planes: luma and chroma for color, else the channels."""
    color = work.shape[2] == 3
    return np.ascontiguousarray(np.moveaxis(work @ YUV.T.astype(np.float32) if color
                                            else work, 2, 0))


def _bases(planes, config):
    """The PCA basis of each stage that matches features (None for full patches),
    fitted on the noisy luma: noise adds the same variance to every axis, so the
    principal axes are the clean image's."""
    return tuple(fit_basis(planes[0], stage.f, dims, config.seed)
                 if dims and 2 * stage.f < min(planes.shape[1:]) else None
                 for (stage, _), dims in zip(config.stages, config.dims))


def _apply(work, plan):
    color = work.shape[2] == 3
    planes = _planes(work)
    config = plan.config
    bases = config.bases if config.bases is not None else _bases(planes, config)
    estimate, values = None, planes              # Z starts as the noisy image
    for (stage, _), basis in zip(config.stages, bases):
        estimate, after = _stage(planes, estimate, stage, config, basis, values)
        values = values if after is None else after
    out = np.moveaxis(estimate, 0, 2)
    return np.ascontiguousarray(out @ YUV.astype(np.float32) if color else out)


# --- the method -----------------------------------------------------------------------

def _rule(info, sigma, values):
    """Stage-1 patch side and group size from the table for sigma (8-bit units); the
    value map: Wiener when a patch has fewer values than the group, else ridge; the
    softmax temperature, higher when PCA features are compared."""
    derived = {}
    if values["value"] is None and values["patch2"] is not None:
        n = check_int("patch2", values["patch2"], minimum=1, maximum=21, odd=True) ** 2
        group2 = values["group2"]
        k = 0 if group2 is None else check_int("group2", group2, minimum=1, maximum=256)
        derived["value"] = "wiener" if n < k else "ridge"
    if sigma is not None:
        sigma255 = sigma * 255.0 / info.data_range
        patch, group = next((p, k) for limit, p, k in TABLE if sigma255 <= limit)
        factor = H_FACTOR_PCA if values["pca_dims"] else H_FACTOR
        derived.update(patch=patch, group=group, h=factor * sigma)
    return derived


def _prepare(info, sigma, p):
    n_stages = check_int("stages", p["stages"], minimum=1, maximum=8)
    d = check_int("search", p["search"], minimum=1, maximum=40)
    sizes = []
    for patch, group, stride in (("patch", "group", "stride"), ("patch2", "group2", "stride2")):
        side = check_int(patch, p[patch], minimum=1, maximum=21, odd=True)
        k = check_int(group, p[group], minimum=1, maximum=256)
        step = check_int(stride, p[stride], minimum=1, maximum=side)
        sizes.append((side // 2, k, step))
    alpha, beta = check_positive("alpha", p["alpha"]), check_positive("beta", p["beta"])
    affine = check_bool("affine", p["affine"])
    check_choice("weights", p["weights"], WEIGHTS)
    softmax, h = p["weights"] == "softmax", check_intensity("h", p["h"], info.data_range)
    check_choice("aggregate", p["aggregate"], AGGREGATES)
    pixel = p["aggregate"] == "pixel"
    if pixel and (sizes[0][2] != 1 or (n_stages > 1 and sizes[1][2] != 1)):
        raise InvalidParameterError("aggregate=pixel needs stride=1 (and stride2=1 with "
                                    "more than one stage): every pixel must be a reference")
    check_choice("value", p["value"], VALUES)
    dims = [check_int(name, p[name], minimum=0, maximum=(2 * f + 1) ** 2)
            for name, (f, _, _) in (("pca_dims", sizes[0]), ("pca_dims2", sizes[1]))]
    check_choice("position", p["position"], POSITIONS)
    width, seed = check_positive("width", p["width"]), check_int("seed", p["seed"], minimum=0)
    s2, h2 = (sigma / info.data_range) ** 2, (h / info.data_range) ** 2
    stages = []
    for i in range(n_stages):
        f, k, step = sizes[min(i, 1)]
        n = (2 * f + 1) ** 2
        progressive = n_stages > 2 and i > 0
        # matching distance + n h^2 P(t) ranks candidates as the softmax logits do
        extra = (f, n * h2 if p["position"] != "none" else 0.0,
                 softmax and dims[min(i, 1)] > 0, progressive,
                 TAU * (1 - i / (n_stages - 1)) if progressive else 0.0, float(np.sqrt(s2)))
        first = i == 0 or p["value"] == "identity"   # weights of the noisy group itself
        if first and not softmax:
            # ridge fitted on the noisy group needs k < n (Y Y^T of full rank): the
            # first stage's group size, not the larger one of the later stages
            k = min(k, sizes[0][1], n - 1) if i > 0 else k
        if first and softmax:
            stage = Stage(f, d, k, step, 2 * s2, 1.0 / h2, False, False, True, True, pixel,
                          *extra)
        elif first:
            stage = Stage(f, d, k, step, alpha * n * s2, (1 + alpha) * n * s2, affine, False,
                          True, False, pixel, *extra)
        elif p["value"] == "ridge":
            stage = Stage(f, d, k, step, n * s2, n * s2, affine, False, False, False, pixel,
                          *extra)
        else:
            stage = Stage(f, d, k, step, 0.0, beta * s2, False, True, False, False, pixel,
                          *extra)
        stages.append((stage, "ridge" if i == 0 else p["value"]))
    # An output pixel reads the references within d + f, their candidates within d and
    # those patches within f; a positional form reads REACH around its reference.
    reach = REACH if p["position"] in ("adaptive", "steer") else 0
    halo = sum(max(2 * (stage.d + stage.f), stage.d + stage.f + reach) for stage, _ in stages)
    stage_dims = tuple(dims[min(i, 1)] for i in range(n_stages))
    config = Config(tuple(stages), (0, 0), stage_dims, seed, p["position"], width,
                    float(np.sqrt(s2)))
    return Setup(config, halo=halo, statistics=("PCA basis",) if any(stage_dims) else ())


def _fit(work, plan):
    """The plan with the PCA bases fitted on `work` (the whole image) and fixed."""
    config = plan.config._replace(bases=_bases(_planes(work), plan.config))
    return dataclasses.replace(plan, config=config, statistics=())


def _locate(plan, row, col):
    r, c = plan.config.origin
    return dataclasses.replace(plan, config=plan.config._replace(origin=(r + row, c + col)))


@register(rule=_rule, prepare=_prepare, apply=_apply, fit=_fit, locate=_locate,
          sigma_required=True)
def attention(image, *, sigma: float | None = None, weights: str = "ridge", stages: int = 2,
              patch: int | None = None, group: int | None = None, stride: int = 4,
              search: int = 18, patch2: int = 7, group2: int = 64, stride2: int = 6,
              value: str | None = None, affine: bool = True, alpha: float = 0.05,
              beta: float = 1.0, h: float | None = None, aggregate: str = "group",
              position: str = "none", width: float = 20.0, pca_dims: int = 0,
              pca_dims2: int = 0, seed: int = 0):
    """Attention: groups of similar patches combined by closed-form (ridge) weights.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C)
        uint8, uint16, float16, float32 or float64; C = 2 or 4 carries alpha,
        which is returned untouched. Color is matched on luma; each luma and
        chroma channel of a group gets its own weights.
    sigma : float
        Noise standard deviation in the image's units (0-255 for uint8, 0-65535
        for uint16, data units for float). Required: the weights are fitted to it.
    weights : str, default "ridge"
        How a stage-1 group attends to itself: "ridge" (closed-form weights
        minimising the risk, NL-Ridge) or "softmax" (attention weights
        softmax(-max(d / n - 2 sigma^2, 0) / h^2) over the group, d the squared
        patch distance from the Gram matrix, the centre rule on the diagonal).
    stages : int, default 2
        1: ridge attention on the noisy image only. 2: a second stage re-matches
        on the first one's estimate and maps the noisy groups through its
        statistics (the flow). 3 and more follow LIChI: each later stage filters
        a progressive image Z (the noisy image at first) with the noise level Z
        still holds, and passes on Z with a decreasing fraction of noise
        re-injected, 0.75 (1 - i / (stages - 1)) after stage i.
    patch : int, default from sigma
        Stage-1 patch side (odd): 7 up to sigma 15, 9 up to 35, then 11
        (8-bit units; `denoise methods attention` shows the table).
    group : int, default from sigma
        Stage-1 group size k: 18, or 20 above sigma 35.
    stride : int, default 4
        Stage-1 reference grid step (at most the patch side).
    search : int, default 18
        Search window half-size (window side 2 search + 1), every stage.
    patch2 : int, default 7
        Patch side in the later stages.
    group2 : int, default 64
        Group size in the later stages.
    stride2 : int, default 6
        Reference grid step in the later stages.
    value : str, default "wiener" if a patch (one channel) has fewer values than the group
        Later stages' value map: "wiener" (empirical Wiener with the pilot's
        covariance, NL-Bayes), "ridge" (k x k ridge on the pilot, NL-Ridge) or
        "identity" (no map: the groups found on the pilot combined by the
        first stage's kind of weights, fitted on the noisy group itself; ridge
        weights then take the first stage's group size, as they need fewer
        patches than values).
    affine : bool, default True
        Ridge weights of each patch sum to one, so a group's mean is kept
        (without it, dark flat areas are pulled towards black).
    alpha : float, default 0.05
        Stage-1 ridge regularisation (NL-Ridge's noisier-risk alpha).
    beta : float, default 1.0
        Wiener noise factor (NL-Bayes' beta).
    h : float, default 0.5 sigma, 0.8 sigma with pca_dims
        Softmax temperature, in the image's units; also scales the positional
        term in the matching distance.
    aggregate : str, default "group"
        "group": every member of every group is estimated and pasted back, and
        each pixel averages the estimates covering it. "pixel": each reference
        keeps only its own centre pixel (needs stride 1); with softmax weights,
        one stage and the whole window as the group, this is pixelwise NLM.
    position : str, default "none"
        A positional term on top of patch similarity, a Gaussian of the offset t
        between two patches, exp(-P(t)), multiplying softmax weights and adding
        n h^2 P(t) to every matching distance (so candidates are ranked as the
        weights would rank them): "gauss" (P = |t|^2 / (2 width^2)), "adaptive"
        (the width shrinks from `width` to 2 pixels where the gradient energy
        rises above the noise's), "steer" (adaptive and anisotropic, from
        LARK's steering matrices: long along edges, narrow across them).
    width : float, default 20.0
        The positional term's width in pixels (its largest, for adaptive and steer).
    pca_dims : int, default 0
        Stage 1 matches the noisy patches' first pca_dims principal components
        instead of the full patches (0). With softmax weights the weights come
        from them too: distances with less noise.
    pca_dims2 : int, default 0
        The same for the later stages (matching on the pilot's patches).
    seed : int, default 0
        Seed of the patch sample the PCA basis is fitted on.

    Returns
    -------
    out : ndarray, same shape and dtype as `image`

    Raises
    ------
    InvalidParameterError, MissingSigmaError, ImageFormatError

    Notes
    -----
    References lie on a grid of step `stride` (plus the first and last rows
    and columns); every member of every group is estimated and pasted back.
    Candidates whose patch leaves the image are never matched. An output pixel
    depends on the pixels within the sum over stages of 2 (search + patch
    radius) of it. A group whose system cannot be factorised (degenerate
    input) is replaced by its mean.

    References
    ----------
    Herbreteau & Kervrann, "Towards a unified view of unsupervised non-local
    methods for image denoising: the NL-Ridge approach", ICIP 2022
    (arXiv:2203.00570). Lebrun, Buades & Morel, "Implementation of the
    Non-Local Bayes image denoising algorithm", IPOL 3 (2013),
    DOI 10.5201/ipol.2013.16.

    Examples
    --------
    >>> import numpy as np
    >>> flat = np.full((24, 24), 100, dtype=np.uint8)
    >>> bool((attention(flat, sigma=10) == flat).all())
    True
    """
