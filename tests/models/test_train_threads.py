"""train(threads=...): torch's thread count inside the call only, never after it."""

from __future__ import annotations

import pytest
import torch

from symnet.models import HNN, train


def _sampler(seen, fail=False):
    """Fresh mass-spring samples ``H = (q^2 + p^2) / 2``; records the thread count."""

    def data(n, generator):
        seen.append(torch.get_num_threads())
        if fail:
            raise RuntimeError("sampler failed")
        q = torch.randn(n, 1, generator=generator)
        p = torch.randn(n, 1, generator=generator)
        return {"q": q, "p": p, "dq_dt": p, "dp_dt": -q}

    return data


def _model():
    torch.manual_seed(0)
    return HNN(config_shape=(1,), hidden=8)


@pytest.mark.parametrize(("threads", "inside"), [(1, 1), (3, 3), (None, 2)])
def test_threads_apply_inside_the_call_only(two_threads, threads, inside):
    seen: list[int] = []
    kw = {} if threads == 1 else {"threads": threads}  # 1 is the default
    hist = train(_model(), _sampler(seen), steps=3, steps_per_epoch=3, progress=False, **kw)
    assert hist.steps == 3
    assert seen and set(seen) == {inside}
    assert torch.get_num_threads() == 2


def test_threads_restored_when_train_raises(two_threads):
    seen: list[int] = []
    with pytest.raises(RuntimeError, match="sampler failed"):
        train(_model(), _sampler(seen, fail=True), steps=2, progress=False)
    assert seen == [1]
    assert torch.get_num_threads() == 2


def test_same_losses_whatever_the_threads():
    a = train(_model(), _sampler([]), steps=3, steps_per_epoch=3, progress=False)
    b = train(_model(), _sampler([]), steps=3, steps_per_epoch=3, progress=False, threads=2)
    assert a.train_loss == pytest.approx(b.train_loss, rel=1e-5)


@pytest.mark.parametrize(
    ("bad", "error"), [(0, ValueError), (-2, ValueError), (1.5, TypeError), (True, TypeError)]
)
def test_bad_threads_named(two_threads, bad, error):
    with pytest.raises(error, match="threads must be a positive int or None"):
        train(_model(), _sampler([]), steps=1, progress=False, threads=bad)
    assert torch.get_num_threads() == 2
