"""Federated training of a polyp bundle between hospitals with NVIDIA FLARE (install: ``pip install
'monai_lightseg[federated]'``): each site's data split, the bundle overrides that make its ``train.json``
federation-safe, compressed model updates, and the job."""
