"""The report wing: ``reports/report.md``, its figures and the paper-vs-measured numbers, from ``results/``.

``assemble.build_report`` is the entry point; ``common``, ``figures``, ``findings`` and ``scale`` are shared by
the experiment pages (``xor``, ``mnist``, ``cifar``, ``data``), ``papers`` holds the papers' numbers, ``overview``
builds the first screen and the closing list, ``layout`` the anchors and the wrapped prose. Nothing here imports
torch or the experiment code: the report is rebuilt from the results files alone (and params.yaml's sections as
written, the paper's settings each run's scale is judged against).
"""
