"""The server extension's REST API: auth, input checks and error answers (no kernel needed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from server_helpers import (  # noqa: F401 - fixtures
    broken_notebook,
    builder_endpoint,
    call,
    call_error,
    constant_notebook,
    jp_server_config,
    write_notebook,
)
from tornado.httpclient import HTTPClientError

ROUTES = [
    ("POST", ("preview",)),
    ("POST", ("deployments",)),
    ("GET", ("deployments",)),
    ("GET", ("deployments", "x")),
    ("GET", ("deployments", "x", "module")),
    ("GET", ("deployments", "x", "files", "deploy.json")),
    ("POST", ("deployments", "x", "rollback")),
    ("POST", ("deployments", "x", "promote")),
    ("POST", ("deployments", "x", "abort")),
    ("DELETE", ("deployments", "x")),
    ("POST", ("deployments", "x", "invoke")),
    ("POST", ("deployments", "x", "keys")),
    ("GET", ("builds", "b1")),
    ("GET", ("builds", "b1", "logs")),
    ("GET", ("config",)),
]


@pytest.mark.parametrize("token", ["", "token not-the-token"])
@pytest.mark.parametrize(("method", "parts"), ROUTES)
async def test_every_route_refuses_a_request_without_the_server_token(
    jp_fetch: Any, method: str, parts: tuple[str, ...], token: str
) -> None:
    # Given a request with no token, or a wrong one
    kwargs: dict[str, Any] = {"method": method, "headers": {"Authorization": token}}
    if method == "POST":
        kwargs["body"] = "{}"
    if method == "DELETE":
        kwargs["allow_nonstandard_methods"] = True
    # When it reaches any route of the extension
    with pytest.raises(HTTPClientError) as caught:
        await jp_fetch("jupyter-deploy", "api", *parts, **kwargs)
    # Then Jupyter's auth answers 403, as JSON
    assert caught.value.code == 403
    assert caught.value.response is not None
    assert json.loads(caught.value.response.body)["error"] == "forbidden"


async def test_config_names_the_configured_builder(jp_fetch: Any, builder_endpoint) -> None:  # noqa: F811
    # When the panel asks where builds go
    answer = await call(jp_fetch, "config")
    # Then it is the configured build service, not the embedded one
    assert answer == {"builder_url": builder_endpoint[0], "embedded": False}


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ("not json", 400, "invalid_request"),
        ("[1, 2]", 400, "invalid_request"),
        ("{}", 400, "invalid_request"),
        ('{"path": 3}', 400, "invalid_request"),
        ('{"path": "data.csv"}', 400, "invalid_request"),
        ('{"path": "../outside.ipynb"}', 403, "path_outside_root"),
        ('{"path": "a/../../outside.ipynb"}', 403, "path_outside_root"),
        ('{"path": "/etc/outside.ipynb"}', 403, "path_outside_root"),
        ('{"path": "missing.ipynb"}', 404, "not_found"),
        ('{"path": "double.ipynb", "name": "no/slash"}', 400, "invalid_request"),
        ('{"path": "double.ipynb", "name": 7}', 400, "invalid_request"),
    ],
)
@pytest.mark.parametrize("route", ["preview", "deployments"])
async def test_bad_requests_get_a_4xx_that_names_the_problem(
    jp_fetch: Any, jp_root_dir: Path, route: str, body: str, status: int, code: str
) -> None:
    # Given a valid notebook next to the bad requests
    constant_notebook(jp_root_dir)
    # When the request is malformed or points outside the root
    got_status, answer = await call_error(jp_fetch, route, method="POST", body=body)
    # Then the answer is a JSON 4xx with the domain error's code and a message
    assert (got_status, answer["error"]) == (status, code)
    assert answer["message"]


async def test_a_symlink_out_of_the_root_is_refused_by_the_contents_manager(
    jp_fetch: Any, jp_root_dir: Path, tmp_path: Path
) -> None:
    # Given a notebook outside the root, reachable through a symlink inside it
    outside = tmp_path / "elsewhere"
    constant_notebook(outside, "secret.ipynb")
    (jp_root_dir / "link").symlink_to(outside, target_is_directory=True)
    # When the panel asks for a preview of it
    status, answer = await call_error(
        jp_fetch, "preview", method="POST", body={"path": "link/secret.ipynb"}
    )
    # Then it is a 4xx: the contents manager keeps paths inside the root
    assert 400 <= status < 500, answer


async def test_a_file_that_is_not_a_notebook_is_a_4xx(jp_fetch: Any, jp_root_dir: Path) -> None:
    # Given a file named .ipynb that holds no notebook
    (jp_root_dir / "junk.ipynb").write_text("this is not json")
    # When it is previewed
    status, answer = await call_error(
        jp_fetch, "preview", method="POST", body={"path": "junk.ipynb"}
    )
    # Then the answer says so, as a 4xx
    assert status == 422 and answer["error"] == "invalid_notebook"
    assert "junk.ipynb" in answer["message"]


async def test_a_broken_notebook_is_a_4xx_naming_the_name_and_the_cell(
    jp_fetch: Any, jp_root_dir: Path
) -> None:
    # Given a predict cell that uses a name nothing defines
    broken_notebook(jp_root_dir)
    for route in ("preview", "deployments"):
        # When it is previewed or deployed
        status, answer = await call_error(
            jp_fetch, route, method="POST", body={"path": "broken.ipynb"}
        )
        # Then the compiler's error comes back as a 422 naming the missing name
        assert status == 422 and answer["error"] == "unresolved_name"
        assert "undefined_scale" in answer["message"]


async def test_a_notebook_without_a_predict_cell_is_a_4xx(jp_fetch: Any, jp_root_dir: Path) -> None:
    # Given a notebook with no cell tagged predict
    write_notebook(jp_root_dir, "plain.ipynb", [])
    # When it is previewed
    status, answer = await call_error(
        jp_fetch, "preview", method="POST", body={"path": "plain.ipynb"}
    )
    # Then the answer tells the user to tag a cell
    assert status == 422 and answer["error"] == "no_predict_cell"


@pytest.mark.parametrize(
    ("method", "parts"),
    [
        ("GET", ("deployments", "no-such-model")),
        ("GET", ("deployments", "no-such-model", "module")),
        ("GET", ("deployments", "no-such-model", "files", "requirements.txt")),
        ("POST", ("deployments", "no-such-model", "rollback")),
        ("DELETE", ("deployments", "no-such-model")),
        ("POST", ("deployments", "no-such-model", "invoke")),
        ("GET", ("builds", "no-such-build")),
        ("GET", ("builds", "no-such-build", "logs")),
    ],
)
async def test_unknown_deployments_and_builds_are_404(
    jp_fetch: Any, method: str, parts: tuple[str, ...]
) -> None:
    # When a route names a deployment or build the builder does not know
    body = '{"x": 1}' if method == "POST" else None
    status, answer = await call_error(jp_fetch, *parts, method=method, body=body)
    # Then it is a JSON 404
    assert status == 404, answer
    assert answer["message"]


@pytest.mark.parametrize(
    ("parts", "params"),
    [
        (("builds", "b1", "logs"), {"offset": "minus"}),
        (("builds", "b1", "logs"), {"offset": "-3"}),
        (("deployments", "a%2F..%2Fbuilds"), {}),
        (("deployments", "bad name!"), {}),
        (("deployments", "x", "files", "artifacts%2Fmodel.pkl"), {}),
        (("deployments", "x", "files", "notes.txt"), {}),
    ],
)
async def test_bad_ids_and_offsets_are_400(
    jp_fetch: Any, parts: tuple[str, ...], params: dict[str, str]
) -> None:
    # When an offset is not a whole number or a name is not a name
    with pytest.raises(HTTPClientError) as caught:
        await jp_fetch("jupyter-deploy", "api", *parts, params=params)
    # Then the answer is 400, never a 500
    assert caught.value.code == 400


async def test_invoke_with_a_body_that_is_not_json_is_400(jp_fetch: Any) -> None:
    # When the test console sends something that is not JSON
    status, answer = await call_error(
        jp_fetch, "deployments", "anything", "invoke", method="POST", body="{oops"
    )
    # Then it is refused before anything is forwarded
    assert (status, answer["error"]) == (400, "invalid_request")


async def test_rollback_with_a_version_that_is_not_a_number_is_400(jp_fetch: Any) -> None:
    # When a rollback names a version that is not a number
    status, answer = await call_error(
        jp_fetch, "deployments", "x", "rollback", method="POST", body={"version": "two"}
    )
    # Then it is a 400 naming the field
    assert status == 400 and "version" in answer["message"]
