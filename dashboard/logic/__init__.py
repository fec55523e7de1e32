"""Each page's logic: the settings forms, the run driver, the session's runs and their downloads, Tune's
searches, Explore's views, the teaching figures and Speed's verdicts. Imports :mod:`dashboard.server`
and :mod:`dashboard.render`, never the pages."""
