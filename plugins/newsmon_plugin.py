"""The newsmon Airflow plugin: the newsmon API under ``/newsmon`` on the API server and a
"newsmon" entry in the Airflow UI's Browse menu that shows its overview page.

Every route requires an authenticated Airflow user (the UI's session cookie or an API token),
like Airflow's own REST API.
"""

from __future__ import annotations

from fastapi import Depends

from airflow.plugins_manager import AirflowPlugin
from newsmon_api import airflow_settings_provider, create_app

URL_PREFIX = "/newsmon"


def _authenticated():
    from airflow.api_fastapi.core_api.security import requires_authenticated

    return Depends(requires_authenticated())


newsmon_app = create_app(airflow_settings_provider(), dependencies=[_authenticated()])


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
