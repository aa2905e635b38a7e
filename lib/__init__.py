"""inDigitall BI platform: the tested package behind the notebooks, the runner and the dashboards."""

__version__ = "0.1.0"
