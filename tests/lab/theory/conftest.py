import pytest
import torch


@pytest.fixture(autouse=True)
def one_torch_thread():
    """The theory tests run many tiny ops: one thread avoids OpenMP contention on a shared machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
