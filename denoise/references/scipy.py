"""SciPy's median filter as a ``ref:`` method, per plane in the image's own dtype."""
from .._validate import check_int
from ..registry import Setup, register
from . import size_rule


def _prepare(info, sigma, p):
    size = check_int("size", p["size"], minimum=1, maximum=101, odd=True)
    return Setup(size, halo=size // 2)


def _apply(plane, plan):
    from scipy.ndimage import median_filter

    return median_filter(plane, size=plan.config, mode="reflect")


@register("ref:scipy-median", family="median", rule=size_rule, prepare=_prepare,
          apply=_apply, native=True)
def scipy_median(image, *, sigma: float | None = None, size: int | None = None):
    """SciPy median filter (ndimage.median_filter, mode reflect), per channel.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, C)
        Any supported dtype; channels are filtered separately.
    sigma : float, optional
        Noise standard deviation in the image's units; chooses `size` only.
    size : int, default from sigma
        Odd window side: 3 up to sigma 30 (8-bit units), 5 up to 60, else 7;
        the rule of our ``median`` (3 without sigma).

    Returns
    -------
    out : ndarray, same shape and dtype as `image`

    References
    ----------
    SciPy ``scipy.ndimage.median_filter``.
    """
