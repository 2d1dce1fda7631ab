"""The newsmon Airflow plugin: the newsmon API under ``/newsmon`` on the API server and a
"newsmon" entry in the Airflow UI's Browse menu that shows its overview page.

Every route requires an authenticated Airflow user (the UI's session cookie or an API token),
like Airflow's own REST API, except ``/newsmon/unsubscribe``: digest readers are no Airflow
users; a signed, expiring token (``NEWSMON_UNSUBSCRIBE_SECRET``) guards it.
"""

from __future__ import annotations

from fastapi import Depends

from airflow.plugins_manager import AirflowPlugin
from newsmon_api import airflow_settings_provider, airflow_write_settings_provider, create_app

URL_PREFIX = "/newsmon"


def _authenticated():
    from airflow.api_fastapi.core_api.security import requires_authenticated

    return Depends(requires_authenticated())


# reads as newsmon_analyst (connection newsmon_analyst_db); only unsubscribing writes (newsmon_db)
newsmon_app = create_app(airflow_settings_provider(), dependencies=[_authenticated()],
                         write_settings_provider=airflow_write_settings_provider())


class NewsmonPlugin(AirflowPlugin):
    name = "newsmon"
    fastapi_apps = [
        {"app": newsmon_app, "url_prefix": URL_PREFIX, "name": "newsmon"},
    ]
    external_views = [
        {
            "name": "newsmon",
            "href": f"{URL_PREFIX}/",
            "url_route": "newsmon",
            "destination": "nav",
            "category": "browse",
        },
    ]
