"""A client generated from /api/openapi by openapi-python-client works without edits: proof the document is usable.

The generator reads the document a signed-in caller gets (typed per entity), writes a package into a
temporary directory, and the test imports it to log in, create contacts and list them from a real gateway.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import httpx
import pytest

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.e2e.conftest import LiveGateway

PACKAGE = "hari_client"


@pytest.fixture
def generated(live_gateway: LiveGateway, tmp_path: Path) -> Iterator[ModuleType]:
    token = live_gateway.token()
    document = httpx.get(live_gateway.url + "/api/openapi", headers={"Authorization": f"Bearer {token}"}).json()
    spec = tmp_path / "openapi.json"
    spec.write_text(json.dumps(document))
    bin_dir = Path(sys.executable).parent
    result = subprocess.run(
        [
            *(str(bin_dir / "openapi-python-client"), "generate", "--path", str(spec)),
            *("--output-path", str(tmp_path / PACKAGE), "--meta", "none"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def test_generated_client_logs_in_creates_and_lists_contacts(generated: ModuleType, live_gateway: LiveGateway) -> None:
    client_mod = importlib.import_module(f"{PACKAGE}.client")
    login = importlib.import_module(f"{PACKAGE}.api.auth.login")
    create_contact = importlib.import_module(f"{PACKAGE}.api.contact.create_contact")
    list_contact = importlib.import_module(f"{PACKAGE}.api.contact.list_contact")
    get_contact = importlib.import_module(f"{PACKAGE}.api.contact.get_contact")
    models = importlib.import_module(f"{PACKAGE}.models")

    anonymous = client_mod.Client(base_url=live_gateway.url, raise_on_unexpected_status=True)
    tokens = login.sync(client=anonymous, body=models.LoginBody(email=ADMIN_EMAIL, password=ADMIN_PASSWORD))
    access_token = tokens.to_dict()["access_token"]
    wrong = login.sync(client=anonymous, body=models.LoginBody(email=ADMIN_EMAIL, password="wrong-password"))
    assert isinstance(wrong, models.Error)  # errors come back typed, in the one envelope
    assert wrong.error.code

    client = client_mod.AuthenticatedClient(
        base_url=live_gateway.url, token=access_token, raise_on_unexpected_status=True
    )
    ada = create_contact.sync(
        client=client,
        body=models.ContactInput(
            first_name="Ada",
            last_name="Lovelace",
            email_address="ada@example.com",
            source=models.ContactInputSource("referral"),
        ),
    )
    assert isinstance(ada, models.Contact), ada
    assert ada.first_name == "Ada" and len(ada.id) == 24
    grace = create_contact.sync(
        client=client, body=models.ContactInput(first_name="Grace", source=models.ContactInputSource("event"))
    )
    assert isinstance(grace, models.Contact), grace

    by_first_name = models.ListContactSortItem("first_name,asc")  # sort keys are an enum of this entity's fields
    page = list_contact.sync(client=client, page=1, page_size=10, sort=[by_first_name])
    assert isinstance(page, models.ContactPage), page
    assert page.meta.total == 2
    assert [c.first_name for c in page.data] == ["Ada", "Grace"]

    filtered = list_contact.sync(client=client, filter_=["source,eq,referral"], include="first_name")
    assert isinstance(filtered, models.ContactPage), filtered
    assert [c.id for c in filtered.data] == [ada.id]

    fetched = get_contact.sync(client=client, record_id=ada.id)
    assert isinstance(fetched, models.Contact)
    assert fetched.email_address == "ada@example.com"
    missing = get_contact.sync(client=client, record_id="0" * 24)
    assert isinstance(missing, models.Error) and missing.error.code == "record_not_found"
