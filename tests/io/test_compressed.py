"""Compressed DICOM as hospitals send it decodes through the checked reader (pydicom plugins + GDCM)."""

from __future__ import annotations

import io
import shutil

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from PIL import Image
from pydicom.encaps import encapsulate
from pydicom.uid import JPEG2000Lossless, JPEGBaseline8Bit, JPEGLSLossless, RLELossless

from monai_lightseg.io.dicom_series import read_dicom_series
from monai_lightseg.io.discovery import discover
from tests.io.dicom_fixtures import rotation_direction, write_mr_series


@pytest.mark.parametrize("syntax", [RLELossless, JPEGLSLossless, JPEG2000Lossless], ids=["rle", "jpegls", "j2k"])
def test_lossless_compressed_series_reads_identically(syntax, tmp_path) -> None:
    volume = (np.random.default_rng(0).random((5, 64, 64)) * 900).astype(np.int16)  # OpenJPEG needs >= 64 px
    files = write_mr_series(tmp_path / "raw", volume, (0.8, 0.9, 2.5), (1.0, 2.0, 3.0), rotation_direction())
    (tmp_path / "in").mkdir()
    for f in files:
        ds = pydicom.dcmread(f)
        ds.compress(syntax)
        ds.save_as(tmp_path / "in" / f.stem)  # no extension, as PACS exports often are
    (item,) = [i for i in discover(tmp_path / "in") if i.kind == "dicom_series"]
    assert str(pydicom.dcmread(item.files[0], stop_before_pixels=True).file_meta.TransferSyntaxUID) == syntax
    read = read_dicom_series(item.files)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(read.image), volume)


def _jpeg_endoscopy_frame(path, rgb: np.ndarray) -> None:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=95)
    ds = pydicom.Dataset()
    ds.file_meta = pydicom.dataset.FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.77.1.1"
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = pydicom.uid.generate_uid()
    ds.StudyInstanceUID, ds.SeriesInstanceUID = pydicom.uid.generate_uid(), pydicom.uid.generate_uid()
    ds.Modality, ds.Rows, ds.Columns, ds.SamplesPerPixel = "ES", rgb.shape[0], rgb.shape[1], 3
    ds.PhotometricInterpretation, ds.PlanarConfiguration = "YBR_FULL_422", 0
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelData = encapsulate([buffer.getvalue()])
    ds["PixelData"].is_undefined_length = True
    ds.save_as(path, enforce_file_format=True)


def test_jpeg_baseline_endoscopy_frame_is_segmented(tmp_path) -> None:
    from monai_lightseg.batch import BatchOptions, run_batch
    from tests.bundles.conftest import copy_bundle, ensure_weights
    from tests.conftest import REPO

    rgb = np.asarray(Image.open(REPO / "samples/polyp/images/cvc_clinicdb_1.png").convert("RGB"))
    (tmp_path / "in").mkdir()
    _jpeg_endoscopy_frame(tmp_path / "in" / "frame", rgb)
    decoded = pydicom.dcmread(tmp_path / "in" / "frame").pixel_array
    assert decoded.shape == rgb.shape and np.abs(decoded.astype(int) - rgb).mean() < 6  # lossy, but the same image
    bundle = ensure_weights(copy_bundle("polyp_endoscopy_unet_segmentation", tmp_path / "b")).parent.parent
    out = tmp_path / "out"
    assert run_batch(BatchOptions(bundle=bundle, input=tmp_path / "in", output=out, device="cpu", progress=False)) == 0
    mask = Image.open(out / "frame.png")
    assert mask.size == (rgb.shape[1], rgb.shape[0])
    shutil.rmtree(out)
