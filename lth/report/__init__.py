"""The report wing: ``reports/report.md``, its figures and the paper-vs-measured numbers, from ``results/``.

``assemble.build_report`` is the entry point; ``common`` and ``figures`` are shared by the experiment pages
(``xor``, ``mnist``, ``cifar``, ``data``), ``papers`` holds the papers' numbers. Nothing here imports torch or
the experiment code: the report is rebuilt from the results files alone.
"""
