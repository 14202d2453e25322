"""The API client's error translation, over httpx's MockTransport (the client's own boundary;
the client against a real conveyor API is tested in tests/api/test_releases.py)."""

import json

import httpx
import pytest

from conveyor.adapters.api_client import (
    ApiClient,
    ApiClientError,
    ApiRejected,
    ApiUnreachable,
    Unauthorized,
)

TOKEN = "s3cret-api-token"
URL = "http://conveyor.test:3030"


def client_answering(handler) -> ApiClient:
    return ApiClient(URL, TOKEN, transport=httpx.MockTransport(handler))


def answer(status: int, body=None, **kwargs):
    def handler(request: httpx.Request) -> httpx.Response:
        if body is None:
            return httpx.Response(status, **kwargs)
        return httpx.Response(status, json=body, **kwargs)

    return handler


def test_sends_the_bearer_token_and_returns_the_json():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=[{"id": "shop:deployment/web"}])

    with client_answering(handler) as client:
        assert client.history("shop:deployment/web", limit=5) == [{"id": "shop:deployment/web"}]
    [request] = seen
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.url.path == "/api/v1/history"
    assert dict(request.url.params) == {"limit": "5", "workload": "shop:deployment/web"}


def test_posts_the_body_as_json():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        return httpx.Response(200, json={"kind": "lock"})

    with client_answering(handler) as client:
        assert client.policy({"action": "lock", "workloads": ["a:deployment/b"]}) == {
            "kind": "lock"
        }
    assert seen == [{"action": "lock", "workloads": ["a:deployment/b"]}]


def test_no_token_sends_no_authorization_header():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=[])

    with ApiClient(URL, None, transport=httpx.MockTransport(handler)) as client:
        client.workloads()
    assert "Authorization" not in seen[0].headers


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_token_says_to_check_the_token(status):
    with (
        client_answering(answer(status, {"detail": "invalid bearer token"})) as client,
        pytest.raises(Unauthorized) as caught,
    ):
        client.workloads()
    message = str(caught.value)
    assert "--token" in message and "CONVEYOR_TOKEN" in message
    assert "invalid bearer token" in message and str(status) in message
    assert TOKEN not in message


def test_an_error_answer_carries_the_servers_message_and_status():
    detail = "release image 'app' has no tag; give it as REPO:TAG"
    with (
        client_answering(answer(400, {"detail": detail})) as client,
        pytest.raises(ApiRejected) as caught,
    ):
        client.release({"image": "app"})
    assert (caught.value.status, caught.value.message, str(caught.value)) == (400, detail, detail)


def test_validation_errors_name_each_field():
    body = {
        "detail": [
            {"loc": ["body", "action"], "msg": "Input should be 'lock' or 'unlock'"},
            {"loc": ["query", "limit"], "msg": "Input should be less than 1000"},
        ]
    }
    with client_answering(answer(422, body)) as client, pytest.raises(ApiRejected) as caught:
        client.policy({"action": "nope"})
    assert caught.value.message == (
        "action: Input should be 'lock' or 'unlock'; query.limit: Input should be less than 1000"
    )


def test_an_error_without_json_keeps_the_text_or_the_status():
    with (
        client_answering(answer(502, content=b"Bad Gateway")) as client,
        pytest.raises(ApiRejected) as caught,
    ):
        client.workloads()
    assert (caught.value.status, caught.value.message) == (502, "Bad Gateway")


def test_no_connection_says_to_check_the_url():
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    with client_answering(refuse) as client, pytest.raises(ApiUnreachable) as caught:
        client.workloads()
    message = str(caught.value)
    assert "--url" in message and "conveyor daemon" in message and "Connection refused" in message
    assert TOKEN not in message


def test_a_timeout_says_to_check_the_url():
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    with (
        client_answering(slow) as client,
        pytest.raises(ApiUnreachable, match="no answer in time"),
    ):
        client.release({})


def test_an_answer_that_is_not_json_is_not_conveyor():
    with (
        client_answering(answer(200, content=b"<html>hello</html>")) as client,
        pytest.raises(ApiUnreachable, match="without JSON"),
    ):
        client.workloads()


def test_a_url_without_a_scheme_is_a_usage_error():
    with (
        ApiClient("127.0.0.1:3030", TOKEN) as client,
        pytest.raises(ApiUnreachable, match="--url"),
    ):
        client.workloads()


def test_every_error_is_an_api_client_error_and_the_token_stays_out_of_the_repr():
    assert issubclass(Unauthorized, ApiClientError)
    assert issubclass(ApiUnreachable, ApiClientError)
    assert issubclass(ApiRejected, ApiClientError)
    client = ApiClient(URL, TOKEN)
    assert TOKEN not in repr(client) and URL in repr(client)
    client.close()
