"""newsmon: news monitoring for AI geopolitics.

The package never imports Airflow; DAG files in ``dags/`` call its stage functions.
"""

__version__ = "0.9.10"
