"""Affine registration of a head MRI to the template, with a check that it worked.

SimpleITK's ``ImageRegistrationMethod`` (ITK's registration framework) does the work: moments initialisation,
then a similarity transform and an affine one, each multi-resolution (shrink 4, 2, 1 of the 2 mm template),
Mattes mutual information sampled inside the template's brain, regular-step gradient descent. Written here is
only the recipe and the quality check, which ITK does not decide for us.

Quality check (why a study is refused rather than given a mask of noise): after registration the study is
resampled into the template and its normalised cross-correlation with the template inside the brain must reach
``min_correlation``; a T1 of a head correlates positively (0.6-0.9 measured), a T2, CT or non-brain volume does
not. The affine's volume scale must also be plausible for an adult head (0.6-1.6).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk

from .template import load_template, template_brain_mask


@dataclass
class Registration:
    """``transform`` maps template physical points (LPS mm) to the study's; ``ok`` with ``reason`` when not."""

    transform: sitk.Transform
    correlation: float
    volume_scale: float
    ok: bool
    reason: str
    seconds: float


def _register(fixed: sitk.Image, moving: sitk.Image, mask: sitk.Image, initial: sitk.Transform) -> sitk.Transform:
    method = sitk.ImageRegistrationMethod()
    method.SetMetricAsMattesMutualInformation(numberOfHistogramBins=32)
    method.SetMetricSamplingStrategy(method.RANDOM)
    method.SetMetricSamplingPercentage(0.2, seed=0)
    method.SetMetricFixedMask(mask)
    method.SetInterpolator(sitk.sitkLinear)
    method.SetOptimizerAsRegularStepGradientDescent(
        learningRate=1.0, minStep=1e-3, numberOfIterations=150, relaxationFactor=0.6, gradientMagnitudeTolerance=1e-6
    )
    method.SetOptimizerScalesFromPhysicalShift()
    method.SetShrinkFactorsPerLevel([4, 2, 1])
    method.SetSmoothingSigmasPerLevel([2.0, 1.0, 0.0])
    method.SmoothingSigmasAreSpecifiedInPhysicalUnitsOff()
    method.SetInitialTransform(initial, inPlace=False)
    return method.Execute(fixed, moving)


def _as_affine(transform: sitk.Transform) -> sitk.AffineTransform:
    """A composite or similarity transform as one ``AffineTransform`` (both are linear here)."""
    affine = sitk.AffineTransform(3)
    points = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype=float) * 100.0
    mapped = np.array([transform.TransformPoint(tuple(p)) for p in points])
    matrix = (mapped[1:] - mapped[0]).T / 100.0
    affine.SetMatrix(tuple(matrix.ravel()))
    affine.SetTranslation(tuple(mapped[0]))
    return affine


def correlation_in_brain(study: sitk.Image, transform: sitk.Transform) -> float:
    """Normalised cross-correlation of the study resampled into the template with the template, in its brain."""
    template = load_template()
    resampled = sitk.Resample(study, template, transform, sitk.sitkLinear, 0.0, sitk.sitkFloat32)
    mask = sitk.GetArrayViewFromImage(template_brain_mask()) > 0
    a = sitk.GetArrayViewFromImage(template)[mask].astype(np.float64)
    b = sitk.GetArrayViewFromImage(resampled)[mask].astype(np.float64)
    a, b = a - a.mean(), b - b.mean()
    denominator = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / denominator) if denominator > 0 else 0.0


def register_to_template(study: sitk.Image, min_correlation: float = 0.5) -> Registration:
    """Register ``study`` (any orientation and spacing; SimpleITK reads both from the header) to the template.

    Returns the transform and the quality check's verdict; never raises on a bad match (the caller reports it).
    """
    import time

    start = time.perf_counter()
    template = load_template()
    moving = sitk.Cast(study, sitk.sitkFloat32)
    mask = template_brain_mask()
    initial = sitk.CenteredTransformInitializer(
        template, moving, sitk.Similarity3DTransform(), sitk.CenteredTransformInitializerFilter.MOMENTS
    )
    try:
        similarity = _register(template, moving, mask, initial)
        transform = _register(template, moving, mask, _as_affine(similarity))
    except RuntimeError as error:  # ITK stops when too few samples overlap: the study is not a head like the template
        identity = sitk.AffineTransform(3)
        return Registration(identity, 0.0, 1.0, False, f"registration failed: {error}".split("\n")[0], 0.0)
    affine = _as_affine(transform)
    volume_scale = float(abs(np.linalg.det(np.asarray(affine.GetMatrix()).reshape(3, 3))))
    correlation = correlation_in_brain(moving, affine)
    seconds = time.perf_counter() - start
    if correlation < min_correlation:
        reason = (
            f"the study does not match a T1-weighted head after registration (correlation {correlation:.2f} with "
            f"the template < {min_correlation}): not a T1 brain MRI, or too little of the head"
        )
        return Registration(affine, correlation, volume_scale, False, reason, seconds)
    if not 0.6 <= volume_scale <= 1.6:
        reason = f"implausible head size after registration (volume scale {volume_scale:.2f}, expected 0.6-1.6)"
        return Registration(affine, correlation, volume_scale, False, reason, seconds)
    return Registration(affine, correlation, volume_scale, True, "", seconds)
