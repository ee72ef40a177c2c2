"""PSNR and SSIM (scikit-image) and the scoring of denoised files against clean ones."""
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._image import check_image, image_range, split_alpha
from .batch import Report
from .errors import DenoiseError, ImageFormatError
from .io import iter_images, read_image


@dataclass(frozen=True)
class Score:
    """PSNR (dB) and SSIM of one denoised file against its clean reference."""

    name: str
    psnr: float
    ssim: float


def psnr(reference, estimate, *, data_range):
    """Peak signal-to-noise ratio in dB (``skimage.metrics.peak_signal_noise_ratio``)."""
    from skimage.metrics import peak_signal_noise_ratio

    ref, est = _pair(reference, estimate)
    with np.errstate(divide="ignore"):          # identical images: inf dB
        return float(peak_signal_noise_ratio(ref, est, data_range=data_range))


def ssim(reference, estimate, *, data_range):
    """Structural similarity (``skimage.metrics.structural_similarity``, 7x7 window)."""
    from skimage.metrics import structural_similarity

    ref, est = _pair(reference, estimate)
    if min(ref.shape[:2]) < 7:
        raise ImageFormatError(f"SSIM needs images of at least 7x7 pixels, got {ref.shape[:2]}")
    channel_axis = -1 if ref.ndim == 3 else None
    return float(structural_similarity(ref, est, data_range=data_range,
                                       channel_axis=channel_axis))


def score_images(clean, denoised, name="", data_range=None):
    """Score one pair of images; alpha is ignored, data range given or the clean
    image's (:func:`~denoise._image.image_range`)."""
    check_image(clean)
    check_image(denoised)
    data_range = image_range(clean, data_range)
    clean_color, _ = split_alpha(clean[..., None] if clean.ndim == 2 else clean)
    den_color, _ = split_alpha(denoised[..., None] if denoised.ndim == 2 else denoised)
    return Score(name, psnr(clean_color, den_color, data_range=data_range),
                 ssim(clean_color, den_color, data_range=data_range))


def pair_files(clean, denoised, *, recursive=False):
    """Match denoised files to clean ones by file name (then by stem); with `recursive`,
    through sub-folders, by the path relative to each folder (then without suffix).

    `clean` and `denoised` are each a file or a folder. Returns
    ``(pairs, unmatched)``: ``[(name, clean_path, denoised_path)]`` and the
    denoised paths that have no clean counterpart.
    """
    clean, denoised = Path(clean), Path(denoised)
    den_files = iter_images(denoised, recursive=recursive) if denoised.is_dir() else [denoised]
    if not clean.is_dir():
        if len(den_files) == 1:
            return [(den_files[0].name, clean, den_files[0])], []
        return [], den_files

    def key(path, root):
        return path.relative_to(root).as_posix() if root.is_dir() else path.name

    by_name = {key(p, clean): p for p in iter_images(clean, recursive=recursive)}
    by_stem = {name.rsplit(".", 1)[0]: p for name, p in by_name.items()}
    pairs, unmatched = [], []
    for den in den_files:
        name = key(den, denoised)
        ref = by_name.get(name) or by_stem.get(name.rsplit(".", 1)[0])
        if ref is None:
            unmatched.append(den)
        else:
            pairs.append((name, ref, den))
    return pairs, unmatched


def score_folder(clean, denoised, *, recursive=False):
    """Score every denoised file against its clean namesake: ``(scores, report)``.

    The :class:`~denoise.batch.Report` (the one ``run`` returns) lists the files
    scored and, with the reason, those that were not: no clean counterpart,
    unreadable, another shape. One file's failure never stops the others.
    """
    pairs, unmatched = pair_files(clean, denoised, recursive=recursive)
    report = Report()
    report.failed += [(p, f"{p}: no clean image of the same name in {clean}")
                      for p in unmatched]
    scores = []
    for name, ref, den in pairs:
        try:
            scores.append(score_files(ref, den, name))
            report.done.append(den)
        except DenoiseError as exc:
            report.failed.append((den, str(exc)))
    return scores, report


def score_files(clean_path, denoised_path, name):
    """Read both files and score them; errors name the files."""
    clean, den = read_image(clean_path), read_image(denoised_path)
    if clean.shape != den.shape:
        raise ImageFormatError(
            f"{denoised_path}: shape {den.shape} differs from {clean_path} {clean.shape}")
    return score_images(clean, den, name)


def _pair(reference, estimate):
    ref = np.asarray(reference, dtype=np.float64)
    est = np.asarray(estimate, dtype=np.float64)
    if ref.shape != est.shape:
        raise ImageFormatError(f"shapes differ: {ref.shape} vs {est.shape}")
    if ref.ndim == 3 and ref.shape[2] == 1:
        ref, est = ref[..., 0], est[..., 0]
    return ref, est
