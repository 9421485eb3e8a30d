"""NVFlare's PyTorch persistor, also keeping the global model of every round: ``<run dir>/global_models/
round_<r>.pt``, a plain ``state_dict`` that loads into the bundle's network (NVFlare keeps only the last one,
``FL_global_model.pt``, wrapped in a dict with its metadata)."""

from __future__ import annotations

import os

import torch
from nvflare.apis.fl_context import FLContext
from nvflare.app_common.abstract.model import ModelLearnable
from nvflare.app_common.app_constant import AppConstants
from nvflare.app_opt.pt.file_model_persistor import PTFileModelPersistor

__all__ = ["RoundModelPersistor"]


class RoundModelPersistor(PTFileModelPersistor):
    def save_model(self, ml: ModelLearnable, fl_ctx: FLContext) -> None:
        super().save_model(ml, fl_ctx)
        current = fl_ctx.get_prop(AppConstants.CURRENT_ROUND)
        run_dir = fl_ctx.get_engine().get_workspace().get_run_dir(fl_ctx.get_job_id())
        folder = os.path.join(run_dir, "global_models")
        os.makedirs(folder, exist_ok=True)
        weights = self.persistence_manager.to_persistence_dict()["model"]
        path = os.path.join(folder, f"round_{current}.pt")
        torch.save({k: torch.as_tensor(v) for k, v in weights.items()}, path)
        self.log_info(fl_ctx, f"global model of round {current} saved to {path}")
