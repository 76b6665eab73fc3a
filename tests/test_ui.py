"""The GUI's static files as the app serves them: page, assets, offline and base-path safety."""

from __future__ import annotations

import re
from pathlib import Path

import deepserve.ui

STATIC = Path(deepserve.ui.__file__).with_name("static")


def get(client, url: str):
    """GET ``url``, the body read and the (file-backed) response closed."""
    with client.get(url) as response:
        response.get_data()
        return response


def test_ui_page_and_its_assets_are_served(client):
    page = get(client, "/ui/")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assets = re.findall(r'(?:src|href)="([^"#:]+)"', page.get_data(as_text=True))
    assert "app.js" in assets and "style.css" in assets
    for asset in assets:
        if not asset.startswith("../"):  # "../api/" is the API's own page
            assert get(client, f"/ui/{asset}").status_code == 200, asset
    assert get(client, "/ui/app.js").mimetype == "text/javascript"
    assert get(client, "/ui/style.css").mimetype == "text/css"


def test_ui_without_trailing_slash_redirects_so_relative_urls_resolve(client):
    response = client.get("/ui")
    assert response.status_code in (301, 308)
    assert response.headers["Location"].endswith("/ui/")


def test_unknown_ui_file_is_a_json_404(client):
    response = get(client, "/ui/nothing.js")
    assert response.status_code == 404 and "message" in response.get_json()


def test_every_module_is_shipped_and_imported_relatively():
    """No CDN, no bare package names: each import is a sibling file that exists."""
    modules = sorted(STATIC.glob("*.js"))
    assert modules
    for module in modules:
        for target in re.findall(r'^import .* from "([^"]+)";$', module.read_text(), re.M):
            assert target.startswith("./") and (STATIC / target[2:]).is_file(), (module, target)


def test_no_asset_or_api_url_is_absolute():
    """Relative URLs only, so the GUI works offline and under any base path."""
    absolute = re.compile(
        r"""["'`](?:https?:)?//(?!www\.w3\.org/2000/svg)|["'`]/(?:v2|ui|api|swagger)"""
    )
    for path in STATIC.iterdir():
        assert not absolute.search(path.read_text()), path.name
