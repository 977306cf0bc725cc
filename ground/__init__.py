"""satnode's ground segment: everything that runs off the spacecraft.

The ``satnode`` command (:mod:`ground.cli`), the run report and its plots
(:mod:`ground.report`), fault-injection campaigns (:mod:`ground.campaigns`), benchmark drivers
(:mod:`ground.bench`) and the dictionary export (:mod:`ground.dictionary`). Flight code
(``flight``, ``hal``, ``native``, ``hil``) never imports this package; it may import all of
them.
"""
