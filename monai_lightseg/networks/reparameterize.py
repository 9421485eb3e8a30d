"""Deploy-time re-parameterisation (as RepVGG and ACNet do): the same function in fewer, larger linear ops.

A trained network in eval mode computes, in many places, a chain of linear operations that one convolution can
compute: a convolution and the batch norm after it (running statistics are constants at inference), the 1xk
then kx1 convolutions of an :class:`AsymmetricConv` (no nonlinearity between them: a rank-1 kxk kernel), and
the per-channel-group depthwise branches of a :class:`MultiScaleAsymmetricConv` (one depthwise kernel of the
largest size, the smaller ones zero-padded). :func:`reparameterize` rewrites those chains and leaves the rest.

Why by hand: MONAI has no such pass, and ``torch.fx``-based fusers cannot trace these nets (their forward
checks input shapes in Python) nor know the asymmetric and multi-scale structure.
"""

from __future__ import annotations

import copy

import torch
from monai.networks.blocks import ADN, Convolution
from torch import nn

from monai_lightseg.networks.blocks.asymmetric_conv import AsymmetricConv, MultiScaleAsymmetricConv

__all__ = ["ReparameterizedNetwork", "reparameterize", "is_reparameterized"]

_BatchNorm = nn.modules.batchnorm._BatchNorm
_ConvNd = nn.modules.conv._ConvNd


class ReparameterizedNetwork(nn.Module):
    """What :func:`reparameterize` returns: the folded network as ``.net``, eval-only (``train()`` raises: its
    folded batch norms would neither learn nor normalise; fine-tune the network from before the folding).

    Shapes: those of the wrapped network.
    """

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net
        super().train(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def train(self, mode: bool = True) -> ReparameterizedNetwork:
        if mode:
            raise RuntimeError(
                f"this {type(self.net).__name__} was re-parameterised for inference (batch norms folded); train "
                "the network from before monai_lightseg.networks.reparameterize instead."
            )
        return super().train(False)


def is_reparameterized(net: nn.Module) -> bool:
    """Whether ``net`` came out of :func:`reparameterize`."""
    return isinstance(net, ReparameterizedNetwork)


def reparameterize(net: nn.Module) -> ReparameterizedNetwork:
    """An eval-only copy of ``net`` (weights loaded) with every batch norm that follows a linear convolution
    folded into it, every :class:`AsymmetricConv` merged into one convolution and every
    :class:`MultiScaleAsymmetricConv`'s branches merged into one depthwise convolution. ``net`` is not changed;
    a network that is already re-parameterised is returned as it is.

    The copy computes the same function to float rounding (tested: max |difference| <= 1e-4 x max |logit| with
    random batch-norm statistics, 2D and 3D, every registered network and variant) and exports to TorchScript
    and ONNX like the original. Works on any module (MONAI's ``UNet`` too); what it does not recognise is kept.

    Example::

        net = create_net("light_u2net", spatial_dims=2, in_channels=3, out_channels=1)
        net.load_state_dict(torch.load("model.pt"))
        fast = reparameterize(net)      # fast(x) equals net.eval()(x) to rounding, in less time
    """
    if isinstance(net, ReparameterizedNetwork):
        return net
    folded = copy.deepcopy(net).eval()
    _rewrite(folded)
    for p in folded.parameters():
        p.requires_grad_(False)
    return ReparameterizedNetwork(folded)


def _rewrite(module: nn.Module) -> None:
    """Fold bottom-up: children first, so a block sees its parts already folded."""
    for name, child in list(module.named_children()):
        _rewrite(child)
        if isinstance(child, AsymmetricConv):
            setattr(module, name, _merge_asymmetric(child))
        elif isinstance(child, MultiScaleAsymmetricConv):
            setattr(module, name, _merge_multi_scale(child))
    if isinstance(module, Convolution):
        _fold_convolution(module)
    elif type(module) is nn.Sequential:
        _fold_sequential(module)


def _fold_into(conv: _ConvNd, bn: _BatchNorm, channels: slice = slice(None)) -> bool:
    """``bn`` (its ``channels``) after ``conv``: scale ``conv``'s output channels and shift its bias, in place.
    Returns False (nothing changed) for a batch norm without running statistics."""
    if bn.running_mean is None or bn.running_var is None:
        return False
    scale = torch.rsqrt(bn.running_var[channels] + bn.eps)
    shift = -bn.running_mean[channels] * scale
    if bn.affine:
        shift = shift * bn.weight[channels] + bn.bias[channels]
        scale = scale * bn.weight[channels]
    bias = conv.bias if conv.bias is not None else torch.zeros_like(scale)
    weight, kernel_dims = conv.weight.detach(), [1] * (conv.weight.dim() - 2)
    if conv.transposed:  # weight (C_in, C_out / groups, *k): output channel g * C_out / groups + j is [group g, j]
        groups, (c_in, c_out_per_group) = conv.groups, weight.shape[:2]
        grouped = weight.reshape(groups, c_in // groups, c_out_per_group, *weight.shape[2:])
        weight = (grouped * scale.reshape(groups, 1, c_out_per_group, *kernel_dims)).reshape(weight.shape)
    else:  # weight (C_out, C_in / groups, *k)
        weight = weight * scale.reshape(-1, 1, *kernel_dims)
    conv.weight = nn.Parameter(weight)
    conv.bias = nn.Parameter(bias.detach() * scale + shift)
    return True


def _linear_conv(module: nn.Module) -> _ConvNd | None:
    """The convolution ``module`` reduces to when it is a plain conv or a MONAI ``Convolution`` with nothing
    (or only identities) after its conv; else None."""
    if isinstance(module, _ConvNd):
        return module
    if isinstance(module, Convolution):
        tail = [m for n, m in module.named_children() if n != "conv"]
        adn = [m for t in tail for m in (t.children() if isinstance(t, ADN) else [t])]
        if all(isinstance(m, (nn.Identity, nn.Dropout)) for m in adn):
            return module.conv
    return None


def _fold_convolution(block: Convolution) -> None:
    """MONAI's ``Convolution`` (conv, then ADN): fold a batch norm that comes before any activation."""
    adn = getattr(block, "adn", None)
    if not isinstance(adn, ADN) or not isinstance(block.conv, _ConvNd):
        return
    for name, layer in adn.named_children():
        if isinstance(layer, _BatchNorm):
            if _fold_into(block.conv, layer):
                setattr(adn, name, nn.Identity())
            return
        if not isinstance(layer, (nn.Identity, nn.Dropout)):
            return  # an activation (or other nonlinearity) first


def _fold_sequential(seq: nn.Sequential) -> None:
    """A batch norm right after a linear convolution inside a plain ``nn.Sequential`` (e.g. ICM's body)."""
    names = list(seq._modules)
    for before, name in zip(names, names[1:]):
        layer, conv = seq._modules[name], _linear_conv(seq._modules[before])
        if isinstance(layer, _BatchNorm) and conv is not None and _fold_into(conv, layer):
            seq._modules[name] = nn.Identity()


def _axis_convs(block: AsymmetricConv) -> list[_ConvNd] | None:
    """The per-axis convs when all are linear up to the last one's activation (its norm folded); else None."""
    convs = [_linear_conv(c) for c in block.convs[:-1]]
    last = block.convs[-1]
    tail = [m for n, m in last.named_children() if n != "conv"]
    if any(isinstance(m, _BatchNorm) for t in tail for m in t.modules()) or any(c is None for c in convs):
        return None
    return [*convs, last.conv]  # type: ignore[list-item]


def _merge_asymmetric(block: AsymmetricConv) -> nn.Module:
    """The per-axis convolutions as one: the kernel is their composition (an outer product for depthwise
    ones); exact, also at the borders, because only the last conv may have a bias (zero padding of a
    bias-free intermediate is what the merged kernel sees)."""
    convs = _axis_convs(block)
    if convs is None or any(c.bias is not None and bool(c.bias.any()) for c in convs[:-1]):
        return block
    first, last = convs[0], convs[-1]
    depthwise = all(c.groups == c.in_channels == c.out_channels for c in convs)
    if not depthwise and any(c.groups != 1 for c in convs):
        return block
    weight = convs[0].weight.detach()
    for conv in convs[1:]:
        w = conv.weight.detach()
        if depthwise:  # (C, 1, *k) * (C, 1, *k): kernels along different axes multiply
            weight = weight * w
        else:  # (O, M, *k2) after (M, I, *k1): sum over the middle channels, axes still separate
            weight = torch.einsum("om...,mi...->oi...", w, weight)
    spatial_dims = weight.dim() - 2
    merged = type(first)(
        first.in_channels, last.out_channels, kernel_size=tuple(weight.shape[2:]), stride=1,
        padding=tuple(max(c.padding[a] for c in convs) for a in range(spatial_dims)),
        dilation=first.dilation, groups=first.groups, bias=True,
    )  # fmt: skip
    merged.weight = nn.Parameter(weight)
    merged.bias = nn.Parameter(last.bias.detach() if last.bias is not None else torch.zeros(last.out_channels))
    tail = [m for n, m in block.convs[-1].named_children() if n != "conv"]
    return nn.Sequential(merged, *tail) if tail else merged


class _FoldedMultiScale(nn.Module):
    """A re-parameterised :class:`MultiScaleAsymmetricConv`: pointwise conv, one depthwise conv, activation."""

    def __init__(self, pointwise: nn.Module, depthwise: _ConvNd, act: nn.Module) -> None:
        super().__init__()
        self.pointwise, self.depthwise, self.act = pointwise, depthwise, act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.depthwise(self.pointwise(x)))


def _merge_multi_scale(block: MultiScaleAsymmetricConv) -> nn.Module:
    """Fold the batch norm after the concatenation into each branch, then the branches (each already one
    depthwise kxk conv) into one depthwise conv of the largest k, smaller kernels centred in zeros."""
    branches = [_linear_conv(b) for b in block.branches]
    layers = dict(block.adn.named_children())
    norm, act = layers.get("N"), layers.get("A", nn.Identity())
    if list(layers)[:1] == ["A"] or any(b is None or b.groups != b.in_channels for b in branches):
        return block  # activation before the norm, or a branch that did not merge
    if norm is not None and not isinstance(norm, _BatchNorm):
        return block
    start = 0
    for conv, share in zip(branches, block.shares):
        if norm is not None and not _fold_into(conv, norm, slice(start, start + share)):
            return block
        start += share
    spatial_dims = branches[0].weight.dim() - 2
    size = max(max(b.weight.shape[2:]) for b in branches)
    dilation = branches[0].dilation
    if any(b.dilation != dilation for b in branches):
        return block
    weight = torch.zeros(sum(block.shares), 1, *[size] * spatial_dims)
    bias = torch.zeros(sum(block.shares))
    start = 0
    for conv, share in zip(branches, block.shares):
        w = conv.weight.detach()
        at = [slice(start, start + share), slice(None)] + [slice((size - k) // 2, (size + k) // 2) for k in w.shape[2:]]
        weight[tuple(at)] = w
        bias[start : start + share] = conv.bias.detach() if conv.bias is not None else 0.0
        start += share
    depthwise = type(branches[0])(
        weight.shape[0], weight.shape[0], kernel_size=size, padding=dilation[0] * (size - 1) // 2,
        dilation=dilation, groups=weight.shape[0], bias=True,
    )  # fmt: skip
    depthwise.weight, depthwise.bias = nn.Parameter(weight), nn.Parameter(bias)
    return _FoldedMultiScale(block.pointwise, depthwise, act)
