"""Measuring jobs: every measured call, block, command, cell, test or Dask job is a run.

One module per way in, all on one :class:`Recorder`:

- :mod:`~zuinig.measure.decorator`: ``@measure`` and ``with measure(...)``;
- :mod:`~zuinig.measure.recorder`: the :class:`Recorder` (a meter plus a
  :class:`RunSink`, by default :class:`zuinig.ledger.writer.RunWriter`: the spool
  first, then the ledger), the nesting rule and the promise that the job never notices;
- :mod:`~zuinig.measure.provenance`: what every run says about its process;
- :mod:`~zuinig.measure.command`: ``zuinig run`` (a command as a run);
- :mod:`~zuinig.measure.notebook`: ``%zuinig`` / ``%%zuinig`` (``%load_ext zuinig``);
- :mod:`~zuinig.measure.pytest_plugin`: ``pytest --zuinig``;
- :mod:`~zuinig.measure.dask`: a job on a Dask cluster (public as :mod:`zuinig.dask`).

The name ``measure``: :mod:`zuinig` imports the function :func:`measure` from here
after this package is loaded, so ``zuinig.measure`` is the function (the public API,
``@zuinig.measure``) and this package is reached by its full dotted name
(``from zuinig.measure.recorder import Recorder``, or ``sys.modules``). Importing a
submodule later does not undo that: Python binds a submodule as an attribute of its
parent package (``zuinig.measure``, this package), never of ``zuinig``.
"""

from zuinig.measure.decorator import MeasureSpec, Measuring, measure
from zuinig.measure.recorder import ActiveRun, Recorder, RunSink, default_recorder

__all__ = [
    "ActiveRun",
    "MeasureSpec",
    "Measuring",
    "Recorder",
    "RunSink",
    "default_recorder",
    "measure",
]
