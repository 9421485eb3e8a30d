"""The modules and packages a config name needs are traced to the defining modules, not whole packages."""

from __future__ import annotations

import pytest

from monai_lightseg.export.module_closure import module_closure, resolve


def test_a_name_is_traced_through_re_exports_to_its_defining_module() -> None:
    assert resolve("monai_lightseg.handlers.KeepBestNetwork") == "monai_lightseg.handlers.best_network"
    assert resolve("monai_lightseg.data.VOLUME_SUFFIXES") == "monai_lightseg.data.datalist"  # a constant
    assert resolve("monai_lightseg.networks.nets.EMISNet") == "monai_lightseg.networks.nets.emisnet"
    assert resolve("monai_lightseg.localisation.bundle_run") == "monai_lightseg.localisation.bundle_run"  # a module
    with pytest.raises(ValueError, match="monai_lightseg.no_such_module"):
        resolve("monai_lightseg.no_such_module.thing")


def test_closure_holds_the_defining_module_its_packages_and_what_it_imports() -> None:
    closure = module_closure({"monai_lightseg.handlers.KeepBestNetwork"})
    assert closure.modules == {"monai_lightseg", "monai_lightseg.handlers", "monai_lightseg.handlers.best_network"}
    assert closure.third_party == {"ignite", "torch"}  # not the handlers package's other modules' imports


def test_relative_imports_and_guarded_imports() -> None:
    closure = module_closure({"monai_lightseg.localisation.bundle_run.segment_folder"})
    assert "monai_lightseg.localisation.hippocampus" in closure.modules  # `from .hippocampus import ...`
    assert "monai_lightseg.inference.bundle_segmenter" in closure.modules  # a function-level import
    assert "SimpleITK" in closure.third_party
    # the onnx extra is imported under `try/except ImportError` once in runtimes.py: optional for that module, so an
    # exported bundle lists all three that the "auto" runtime needs
    assert {"onnx", "onnxruntime", "onnxscript"} <= closure.optional
    assert not {"onnx", "onnxruntime", "onnxscript"} & closure.third_party
    assert "monai_lightseg.batch.segment" not in closure.modules and "highdicom" not in closure.third_party


def test_an_import_is_guarded_by_any_handler_that_catches_an_import_error() -> None:
    import ast

    from monai_lightseg.export.module_closure import _guarded_by_import_error

    def handlers(clause: str):
        return ast.parse(f"try:\n    import x\n{clause}\n    pass").body[0].handlers

    for clause in ("except ImportError:", "except (OSError, ModuleNotFoundError):", "except Exception:", "except:"):
        assert _guarded_by_import_error(handlers(clause)), clause
    assert not _guarded_by_import_error(handlers("except (OSError, ValueError):"))
