"""Given lesion locations (``points=``, ``boxes=``) go through the flip and scale test-time augmentations with the
image: a wrapped LocateThenSegmentInferer must segment the same lesion in every flipped or resized copy."""

from __future__ import annotations

import numpy as np
import pytest
from monai.inferers import SimpleInferer

from monai_lightseg.inference import FlipAveragingInferer, LocateThenSegmentInferer, ScaleAveragingInferer
from monai_lightseg.inference.given_locations import flip_locations, scale_locations
from tests.inference.test_locate_then_segment import ROI, Bright, as_input, disc, masks

SHAPE = (300, 512)  # not square, lesions off every axis of symmetry
CLICKED, OTHER = (100, 100), (220, 400)


def two_lesions():
    return disc(SHAPE, CLICKED, 10) | disc(SHAPE, OTHER, 10)


def test_flip_mirrors_points_and_boxes_along_the_axis_only() -> None:
    moved = flip_locations({"points": [(2, 5)], "boxes": [(1, 2, 4, 7)], "other": 3}, axis=1, shape=(10, 20))
    assert moved == {"points": [(2, 14)], "boxes": [(1, 13, 4, 18)], "other": 3}
    # flipping twice gives the locations back
    assert flip_locations(moved, 1, (10, 20))["boxes"] == [(1, 2, 4, 7)]
    assert flip_locations({"points": [(0, 1, 2)]}, 0, (8, 9, 10)) == {"points": [(7, 1, 2)]}


def test_scale_moves_centres_and_rounds_box_edges_outwards() -> None:
    moved = scale_locations({"points": [(0, 9)], "boxes": [(1, 3, 4, 7)]}, (10, 10), (20, 15))
    assert moved["points"] == [(0.5, 13.75)]  # (c + 0.5) * ratio - 0.5
    assert moved["boxes"] == [(2, 4, 8, 11)]  # edges 4.5 -> 4 and 10.5 -> 11: the box never shrinks
    back = scale_locations(moved, (20, 15), (10, 10))
    assert back["points"] == [pytest.approx((0, 9))]


def test_without_locations_the_keyword_arguments_are_passed_on_as_they_are() -> None:
    kwargs = {"points": None, "extra": "x"}
    assert flip_locations(kwargs, 0, (4, 4)) is kwargs
    assert scale_locations(kwargs, (4, 4), (8, 8)) is kwargs


def test_a_location_of_the_wrong_length_is_named() -> None:
    with pytest.raises(ValueError, match=r"point \(1, 2, 3\) must have 2 numbers for a 2D image"):
        flip_locations({"points": [(1, 2, 3)]}, 0, (4, 4))
    with pytest.raises(ValueError, match=r"box \(1, 2\) must have 6 numbers for a 3D image"):
        scale_locations({"boxes": [(1, 2)]}, (4, 4, 4), (8, 8, 8))


@pytest.mark.parametrize("axes", [None, [1]])
def test_flip_averaging_segments_the_clicked_lesion_in_every_flipped_copy(axes) -> None:
    x = as_input(two_lesions())
    located = LocateThenSegmentInferer(ROI)
    out = masks(FlipAveragingInferer(located, spatial_axes=axes)(x, Bright(), points=[(98, 103)]))[0]
    # a pointwise network is flip-equivariant: the average is the single pass, the clicked lesion alone
    assert np.array_equal(out, disc(SHAPE, CLICKED, 10))
    boxes = [(OTHER[0] - 11, OTHER[1] - 11, OTHER[0] + 11, OTHER[1] + 11)]
    out = masks(FlipAveragingInferer(located, spatial_axes=axes)(x, Bright(), boxes=boxes))[0]
    assert np.array_equal(out, disc(SHAPE, OTHER, 10))


@pytest.mark.parametrize("factor", [2.0, 0.75])
@pytest.mark.parametrize("given", ["boxes", "points"])
def test_scale_averaging_segments_the_given_lesion_in_every_resized_copy(factor, given) -> None:
    x = as_input(two_lesions())
    where = {
        "boxes": [(OTHER[0] - 11, OTHER[1] - 11, OTHER[0] + 11, OTHER[1] + 11)],
        "points": [(OTHER[0] + 3, OTHER[1] - 2)],  # a click near the centre: one window around it in each copy
    }
    inferer = ScaleAveragingInferer(LocateThenSegmentInferer(ROI), [1.0, factor])
    out = masks(inferer(x, Bright(), **{given: where[given]}))[0]
    # where every copy's windows ran, the pointwise network gives what it gives on the whole image
    everywhere = masks(ScaleAveragingInferer(SimpleInferer(), [1.0, factor])(x, Bright()))[0]
    near = disc(SHAPE, OTHER, 25)
    assert out.sum() > 0.9 * disc(SHAPE, OTHER, 10).sum()
    assert np.array_equal(out, everywhere & near)
