"""Bad input to the graph builders gets an error naming the argument."""

from __future__ import annotations

import pytest
import torch

from symnet.nn import fully_connected_graph


def test_fully_connected_graph_names_a_batch_of_the_wrong_length() -> None:
    batch = torch.arange(4).repeat_interleave(5)
    assert fully_connected_graph(20, batch).shape == (2, 4 * 5 * 4)
    with pytest.raises(ValueError, match=r"batch must have shape \(num_nodes,\) = \(5,\)"):
        fully_connected_graph(5, batch)
