"""The real protocol clients against the in-process server: a ``requests`` adapter that hands
each request to the app's ``TestClient`` (no socket), so ``open_client`` is exercised whole."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests
from fastapi.testclient import TestClient
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from genoflow.config.schema import Protocol, RetryConfig, ServiceConfig
from genoflow.protocols import ServiceClient, open_client

BASE_URL = "http://testserver"


class AppAdapter(BaseAdapter):
    def __init__(self, client: TestClient) -> None:
        super().__init__()
        self.client = client

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        answer = self.client.request(
            request.method or "GET",
            request.url or "",
            content=request.body if request.body is not None else None,
            headers=dict(request.headers),
        )
        response = requests.Response()
        response.status_code = answer.status_code
        response._content = answer.content
        response.headers = CaseInsensitiveDict(answer.headers)
        response.url = request.url or ""
        response.request = request
        response.encoding = answer.encoding
        return response

    def close(self) -> None:
        pass


def inproc_client(
    app_client: TestClient, protocol: str, api_key: str, extra: Mapping[str, Any] | None = None
) -> ServiceClient:
    """``open_client`` for ``protocol`` whose session talks to ``app_client``'s app."""
    session = requests.Session()
    session.mount(BASE_URL, AppAdapter(app_client))
    service = ServiceConfig(
        protocol=Protocol(protocol),
        url=BASE_URL,
        api_key=api_key,
        timeout=5,
        retry=RetryConfig(attempts=1),
        **dict(extra or {}),
    )
    return open_client(service, session=session)
