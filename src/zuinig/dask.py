"""``zuinig.dask``: measure a job on a Dask cluster (``pip install 'zuinig[dask]'``).

The public import path of :mod:`zuinig.measure.dask`, where the code lives::

    import zuinig.dask

    with zuinig.dask.measure(client, job="woningbouwmonitor", tags={"team": "ruimte"}) as m:
        ...

Why a module of its own: ``zuinig.measure`` is the decorator function (the public
``@zuinig.measure``), so ``zuinig.measure.dask`` cannot be reached as an attribute
of ``zuinig``, and ``import zuinig.dask`` is what the README and users' code say.
"""

from zuinig.measure.dask import DaskMeasureSpec, DaskMeasuring, ProcessMeasurement, measure

__all__ = ["DaskMeasureSpec", "DaskMeasuring", "ProcessMeasurement", "measure"]
